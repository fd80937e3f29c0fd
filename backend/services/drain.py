"""Graceful drain: what a serving process does between SIGTERM and exit (docs/deployment.md).

``serving`` -> ``begin()`` -> **draining**: readiness answers 503 and new streams are refused with a
retryable 503 (the edge asks ``draining``), while open work (streams, detached resumable runs, JSON turns)
may finish for ``grace_s`` seconds -> **cut**: whatever is still open is stopped; a stream ends with exactly
one terminal ``run.failed`` (``shutting_down``, retryable) instead of a cut connection, and the chat
service stores its partial turn as it does for any cancelled run -> ``run()`` returns and the caller tells
the server to exit.

Open work holds a ``Hold`` for its life. Stopping a hold cancels its task only while the task waits inside
the guarded work (``inside``); otherwise the work sees ``stopped`` at its next step. So a stream is never
cancelled half-way through writing a frame to the client or to the stream log. Pure asyncio: no HTTP, no
signals (ops/serving.py connects SIGTERM to ``run``).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

import structlog

from contracts.errors import ShuttingDown
from contracts.events import Failed, StreamEvent

log = structlog.get_logger("switchboard.drain")
T = TypeVar("T")
CUT_WAIT_S = 1.0
"""After the cut, how long ``run`` waits for stopped work to write its terminal event."""


class Hold:
    """One unit of open work: the task doing it, whether it waits inside the guarded work, and whether the
    drain has stopped it."""

    __slots__ = ("inside", "stopped", "task")

    def __init__(self, task: asyncio.Task[object] | None) -> None:
        self.task = task
        self.inside = False
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        if self.inside and self.task is not None:
            self.task.cancel("server shutting down")

    def uncancel(self) -> None:
        """Take back the drain's cancellation so the task can still write its terminal event."""
        if self.task is not None:
            self.task.uncancel()


class Drain:
    """The process's drain state and the open work it waits for. One per process (a registry value)."""

    def __init__(self, grace_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_s = grace_s
        self._clock = clock
        self._holds: set[Hold] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._began: float | None = None
        self._cut = False

    @property
    def draining(self) -> bool:
        """True from ``begin`` on: readiness fails and new streams are refused."""
        return self._began is not None

    @property
    def open(self) -> int:
        return len(self._holds)

    def begin(self) -> None:
        if self._began is None:
            self._began = self._clock()
            log.info("drain.started", open=len(self._holds), grace_s=self.grace_s)

    def hold(self) -> Hold:
        """Register the current task's work. Work that starts after the cut is stopped at once."""
        hold = Hold(asyncio.current_task())
        hold.stopped = self._cut
        self._holds.add(hold)
        self._idle.clear()
        return hold

    def release(self, hold: Hold) -> None:
        self._holds.discard(hold)
        if not self._holds:
            self._idle.set()

    async def run(self) -> None:
        """Drain: wait up to ``grace_s`` for open work to end, then stop what is left and wait (briefly)
        for it to write its terminal events."""
        self.begin()
        assert self._began is not None
        remaining = self._began + self.grace_s - self._clock()
        finished = await self._wait_idle(remaining)
        cut = len(self._holds)
        self._cut = True
        for hold in list(self._holds):
            hold.stop()
        if cut:
            await self._wait_idle(CUT_WAIT_S)
        log.info(
            "drain.finished",
            within_grace=finished,
            stopped=cut,
            unfinished=len(self._holds),
            seconds=round(self._clock() - self._began, 3),
        )

    async def _wait_idle(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


class _Stop:
    """Returned by ``_step`` when the items end or the drain stops them."""


_STOP = _Stop()


async def _step(items: AsyncIterator[T], hold: Hold) -> T | _Stop:
    """The next item, waited for inside the hold (so the drain may cancel the wait)."""
    hold.inside = True
    try:
        return await anext(items)
    except StopAsyncIteration:
        return _STOP
    except asyncio.CancelledError:
        if not hold.stopped:
            raise
        hold.uncancel()
        return _STOP
    finally:
        hold.inside = False


async def _close(items: AsyncIterator[object]) -> None:
    """Close what is left of a generator: a run closed this way stores its partial turn."""
    if isinstance(items, AsyncGenerator):
        await items.aclose()


async def until_drained(
    events: AsyncIterator[StreamEvent], drain: Drain, conversation_id: str
) -> AsyncIterator[StreamEvent]:
    """Relay a run's events; if the drain stops it, close the run and end with one ``run.failed``
    (``shutting_down``). Wraps the events of live and detached (resumable) streams alike, so the terminal
    event also reaches the stream log and followers on other instances end cleanly."""
    hold = drain.hold()
    try:
        while not hold.stopped:
            event = await _step(events, hold)
            if isinstance(event, _Stop):
                break
            yield event
        if hold.stopped:
            await _close(events)
            yield Failed(conversation_id=conversation_id, error=ShuttingDown().info())
    finally:
        drain.release(hold)


async def until_cut(items: AsyncIterator[T], drain: Drain) -> AsyncIterator[T]:
    """Relay ``items`` until they end or the drain stops them (then just end: used for followers of a
    resumable stream, whose client resumes on another instance with ``Last-Event-ID``)."""
    hold = drain.hold()
    try:
        while not hold.stopped:
            item = await _step(items, hold)
            if isinstance(item, _Stop):
                break
            yield item
        await _close(items)
    finally:
        drain.release(hold)


async def within_drain(drain: Drain, work: Awaitable[T]) -> T:
    """Await ``work`` (a JSON turn) as open work: if the drain stops it, raise ``ShuttingDown``."""
    hold = drain.hold()
    hold.inside = True
    try:
        if hold.stopped:  # started after the cut
            if inspect.iscoroutine(work):
                work.close()
            raise ShuttingDown()
        return await work
    except asyncio.CancelledError:
        if not hold.stopped:
            raise
        hold.uncancel()
        raise ShuttingDown() from None
    finally:
        drain.release(hold)


async def until_stopped(items: AsyncIterator[T], drain: Drain) -> AsyncIterator[T]:
    """Relay ``items`` (a protocol surface's model events); if the drain stops them, close them and raise
    ``ShuttingDown``, which the surface ends its stream with (its protocol's one terminal error)."""
    hold = drain.hold()
    try:
        while not hold.stopped:
            item = await _step(items, hold)
            if isinstance(item, _Stop):
                break
            yield item
        if hold.stopped:
            await _close(items)
            raise ShuttingDown()
    finally:
        drain.release(hold)
