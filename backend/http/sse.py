"""Server-Sent Events framing for neutral stream events (docs/streaming.md).

Frames are ``id:`` (1, 2, 3... strictly increasing) + ``event:`` (the event's tag) + ``data:`` (its JSON).
While the stream waits (also before the first token) a ``: heartbeat`` comment is sent every
``heartbeat_s``. The events are produced by a separate task so that waiting for the next event can time
out into a heartbeat without cancelling the producer; when the client goes away, this generator is
cancelled and cancels the producer, which cancels the provider run.

Exactly one terminal event is sent, last: if the producer dies without one, a ``run.failed`` is made here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import structlog

from contracts.errors import ErrorInfo
from contracts.events import TERMINAL_EVENTS, Failed, StreamEvent

log = structlog.get_logger("switchboard.sse")
_encoder = msgspec.json.Encoder()
_DONE = object()
HEARTBEAT = b": heartbeat\n\n"


def frame(event_id: int, event: StreamEvent) -> bytes:
    tag = type(event).__struct_config__.tag
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, str(tag).encode(), _encoder.encode(event))


async def sse_frames(
    events: AsyncIterator[StreamEvent], *, heartbeat_s: float, conversation_id: str | None = None
) -> AsyncIterator[bytes]:
    """Encode ``events`` as SSE frames with heartbeats; guarantees one terminal event, last."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for event in events:
                queue.put_nowait(event)
        except Exception as exc:  # a bug below must still end the stream cleanly
            log.error("sse.producer_failed", error=type(exc).__name__, exc_info=exc)
            queue.put_nowait(exc)
        finally:
            queue.put_nowait(_DONE)

    producer = asyncio.create_task(produce())
    getter: asyncio.Future[object] | None = None
    event_id = 0
    terminal = False
    try:
        while True:
            if getter is None:
                getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter}, timeout=heartbeat_s)
            if not done:
                yield HEARTBEAT
                continue
            item, getter = getter.result(), None
            if item is _DONE:
                break
            if terminal:
                continue
            if isinstance(item, Exception):
                item = Failed(
                    conversation_id=conversation_id,
                    error=ErrorInfo(
                        code="internal", detail="the stream failed unexpectedly; it has been logged"
                    ),
                )
            event_id += 1
            terminal = isinstance(item, TERMINAL_EVENTS)
            yield frame(event_id, item)  # type: ignore[arg-type]
        if not terminal:
            failed = Failed(
                conversation_id=conversation_id,
                error=ErrorInfo(code="internal", detail="the stream ended without a result", retryable=True),
            )
            yield frame(event_id + 1, failed)
    finally:
        if getter is not None:
            getter.cancel()
        producer.cancel()
