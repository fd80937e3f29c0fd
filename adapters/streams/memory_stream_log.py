"""``StreamLog`` in process memory: frames kept per stream until ``ttl_s`` passes without a write.

Right for one instance (and tests): a client can only resume on the instance that ran its stream. Followers
wait on an ``asyncio.Condition`` that every ``append`` notifies. Times are seconds on the injected monotonic
``clock``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

SWEEP_EVERY_S = 1.0


@dataclass(slots=True)
class _Stream:
    """One stream's owner, frames (event id, frame, terminal) in append order, and its expiry."""

    tenant_id: str
    ttl_s: float
    expires_at: float
    frames: list[tuple[int, bytes, bool]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class MemoryStreamLog:
    """Resumable stream frames kept in this process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._next_sweep = 0.0

    def _live(self, stream_id: str) -> _Stream | None:
        """The stream if it exists and has not expired (an expired one is forgotten)."""
        stream = self._streams.get(stream_id)
        if stream is not None and stream.expires_at <= self._clock():
            del self._streams[stream_id]
            return None
        return stream

    def _sweep(self) -> None:
        """Forget expired streams, at most once a second: a sweep reads every stream, and a burst of
        thousands of opens must not read them all each time."""
        now = self._clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY_S
        for stream_id in [key for key, stream in self._streams.items() if stream.expires_at <= now]:
            del self._streams[stream_id]

    async def open(self, stream_id: str, tenant_id: str, *, ttl_s: float) -> None:
        """Start (or restart, dropping its frames) a stream owned by ``tenant_id``."""
        if not ttl_s > 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s!r}")
        self._sweep()
        self._streams[stream_id] = _Stream(tenant_id=tenant_id, ttl_s=ttl_s, expires_at=self._clock() + ttl_s)

    async def append(self, stream_id: str, event_id: int, frame: bytes, *, terminal: bool) -> None:
        """Keep a frame and wake followers; a frame for an unknown or expired stream is dropped."""
        stream = self._live(stream_id)
        if stream is None:
            return
        stream.frames.append((event_id, frame, terminal))
        stream.expires_at = self._clock() + stream.ttl_s
        async with stream.changed:
            stream.changed.notify_all()

    async def tenant_of(self, stream_id: str) -> str | None:
        stream = self._live(stream_id)
        return None if stream is None else stream.tenant_id

    async def follow(self, stream_id: str, after_id: int) -> AsyncIterator[tuple[int, bytes]]:
        """Frames with ids > ``after_id``, stored then live, ending after the terminal one (or when the
        stream is unknown or expires while waiting)."""
        stream = self._live(stream_id)
        if stream is None:
            return
        position = 0
        while True:
            while position < len(stream.frames):
                event_id, frame, terminal = stream.frames[position]
                position += 1
                if event_id > after_id:
                    yield event_id, frame
                if terminal:
                    return
            if self._live(stream_id) is not stream:
                return
            async with stream.changed:
                if position == len(stream.frames):
                    timeout = max(stream.expires_at - self._clock(), 0.0)
                    try:
                        await asyncio.wait_for(stream.changed.wait(), timeout)
                    except TimeoutError:
                        continue
