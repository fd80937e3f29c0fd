"""Server-Sent Events framing for neutral stream events (docs/streaming.md).

Frames are ``id:`` (1, 2, 3... strictly increasing) + ``event:`` (the event's tag) + ``data:`` (its JSON).
While the stream waits (also before the first token) a ``: heartbeat`` comment is sent every
``heartbeat_s``. Frames are produced by a separate task so that waiting for the next one can time out into a
heartbeat without cancelling the producer.

When the client goes away, the response generator is cancelled. By default it cancels the producer, which
cancels the provider run. With resumable streams on, the producer is *detached* instead: the run finishes,
every frame goes to the ``StreamLog``, and a client can resume with ``Last-Event-ID`` on any instance.

Exactly one terminal event is sent, last: if the events end without one, a ``run.failed`` is made here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import structlog

from backend.services.background import BackgroundTasks
from contracts.errors import ErrorInfo, StoreUnavailable
from contracts.events import TERMINAL_EVENTS, Failed, StreamEvent
from contracts.ports import StreamLog

log = structlog.get_logger("switchboard.sse")
_encoder = msgspec.json.Encoder()
_DONE = object()
HEARTBEAT = b": heartbeat\n\n"
COALESCE_MAX = 64
"""At most this many queued frames are joined into one write."""
FrameSink = Callable[[int, bytes, bool], Awaitable[None]]


def frame(event_id: int, event: StreamEvent) -> bytes:
    tag = type(event).__struct_config__.tag
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, str(tag).encode(), _encoder.encode(event))


def _failure(conversation_id: str | None, detail: str) -> Failed:
    return Failed(
        conversation_id=conversation_id, error=ErrorInfo(code="internal", detail=detail, retryable=True)
    )


async def encode(
    events: AsyncIterator[StreamEvent], *, conversation_id: str | None, sink: FrameSink | None = None
) -> AsyncIterator[bytes]:
    """Number and encode events; guarantee one terminal event, last; copy each frame to ``sink``."""
    event_id = 0
    terminal = False

    async def emit(event: StreamEvent) -> bytes:
        nonlocal event_id, terminal, sink
        event_id += 1
        terminal = isinstance(event, TERMINAL_EVENTS)
        data = frame(event_id, event)
        if sink is not None:
            try:
                await sink(event_id, data, terminal)
            except StoreUnavailable:
                log.warning("sse.resume_log_unavailable", event_id=event_id)
                sink = None  # keep streaming to this client; only resumability is lost
        return data

    try:
        async for event in events:
            if not terminal:
                yield await emit(event)
    except Exception as exc:  # a bug below must still end the stream cleanly
        log.error("sse.producer_failed", error=type(exc).__name__, exc_info=exc)
        if not terminal:
            yield await emit(_failure(conversation_id, "the stream failed unexpectedly; it has been logged"))
    if not terminal:
        yield await emit(_failure(conversation_id, "the stream ended without a result"))


async def with_heartbeats(
    frames: AsyncIterator[bytes],
    *,
    heartbeat_s: float,
    detach_into: BackgroundTasks | None = None,
    heartbeat: bytes = HEARTBEAT,
) -> AsyncIterator[bytes]:
    """Relay ``frames`` with heartbeat frames while waiting (a comment, or the protocol's own, e.g.
    Anthropic's ``ping`` event). On early exit (client gone) the producer is cancelled, or left to finish
    in ``detach_into`` when given.

    Hot path: one producer task and one timer task per stream; relaying a frame is a ``put_nowait`` and a
    ``get`` that returns at once when a frame is waiting (no task or timeout handle per frame).
    """
    queue: asyncio.Queue[object] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    last_put = loop.time()

    async def produce() -> None:
        nonlocal last_put
        try:
            async for chunk in frames:
                queue.put_nowait(chunk)
                last_put = loop.time()
        finally:
            queue.put_nowait(_DONE)

    async def beat() -> None:
        nonlocal last_put
        while True:
            idle = loop.time() - last_put
            if idle >= heartbeat_s:
                queue.put_nowait(heartbeat)
                last_put = loop.time()
                idle = 0.0
            await asyncio.sleep(heartbeat_s - idle)

    producer = loop.create_task(produce())
    timer = loop.create_task(beat())
    finished = False
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                finished = True
                break
            assert isinstance(item, bytes)
            if queue.empty():
                yield item
                continue
            # Frames that queued up while the client's last send was in flight go out as one write: the
            # same bytes, fewer server sends when thousands of streams share the loop (no added latency).
            batch = [item]
            while not queue.empty() and len(batch) < COALESCE_MAX:
                more = queue.get_nowait()
                if more is _DONE:
                    finished = True
                    break
                assert isinstance(more, bytes)
                batch.append(more)
            yield b"".join(batch)
            if finished:
                break
    finally:
        timer.cancel()
        if not finished:
            if detach_into is not None:
                detach_into.adopt(producer)
            else:
                producer.cancel()


def log_sink(stream_log: StreamLog, stream_id: str) -> FrameSink:
    async def sink(event_id: int, data: bytes, terminal: bool) -> None:
        await stream_log.append(stream_id, event_id, data, terminal=terminal)

    return sink


async def sse_frames(
    events: AsyncIterator[StreamEvent], *, heartbeat_s: float, conversation_id: str | None = None
) -> AsyncIterator[bytes]:
    """Encode ``events`` with heartbeats; the run is cancelled if the client goes away."""
    async for chunk in with_heartbeats(
        encode(events, conversation_id=conversation_id), heartbeat_s=heartbeat_s
    ):
        yield chunk
