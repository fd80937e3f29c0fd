"""How many streamed calls may be starting at once in this worker (``SWITCHBOARD_STREAM_MAX_STARTING``).

Why: asyncio runs every ready callback once per loop iteration. When thousands of streams arrive in the
same few milliseconds, each iteration runs the setup step of every new request (guardrails, limits,
history, routing, encoding and sending the upstream request), so it lasts hundreds of milliseconds, and a
stream already under way moves one step per iteration: measured with 2,000 streams opened at once through
the ``openai`` kind, the 1,000 first streams stopped for ~2 s in the middle of their answer while the loop
worked through the others' setup (docs/benchmarks.md, "Edge"). Bounding the calls in their setup phase keeps
each iteration short, so running streams keep flowing while the burst is admitted a slot at a time.

A slot is taken before a streamed call's preparation and given back when its setup is over: when the
provider adapter sends the model request upstream (``contracts.starts.upstream_wait``), at the call's
first model output (the offline provider sends nothing), when it ends or fails, or after ``hold_s``
(0.5 s), whichever comes first. The upstream's own latency never holds a slot, so a slow upstream does
not throttle admission, and a slot whose stream is never read cannot leak. Waiters are served in arrival
order. JSON calls are not gated: they have no stream to stall. Measured (docs/benchmarks.md, "Edge"):
released at the first output, 64/128/256 slots kept 2,000 simultaneous streams stall-free; released at
the send, 128 slots let gaps reach 1.15 s and 32/64 kept them under 0.61 s: 64 is the default.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from contracts.starts import ON_UPSTREAM_WAIT

T = TypeVar("T")

HOLD_S = 0.5
"""A slot is given back at the latest this long after it was taken."""


class StartSlot:
    """One call's place among the starting ones; ``release`` is idempotent."""

    __slots__ = ("_gate", "_timer")

    def __init__(self, gate: StreamStarts | None, timer: asyncio.TimerHandle | None) -> None:
        self._gate = gate
        self._timer = timer

    def release(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            gate._give_back()


UNGATED = StartSlot(None, None)


class StreamStarts:
    """A FIFO counting gate (per process, per configuration generation)."""

    def __init__(
        self, limit: int, hold_s: float = HOLD_S, observe: Callable[[int, int], None] | None = None
    ) -> None:
        """``observe(starting, waiting)`` is called on every change (the metrics gauge)."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0 (0: no limit), got {limit!r}")
        self.limit = limit
        self._hold_s = hold_s
        self._observe = observe
        self._taken = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def _changed(self) -> None:
        if self._observe is not None:
            self._observe(self._taken, len(self._waiters))

    @property
    def starting(self) -> int:
        """Slots taken now."""
        return self._taken

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def admit(self, setup: Callable[[], Awaitable[T]]) -> tuple[T, StartSlot]:
        """Wait for a slot, then run ``setup`` (a streamed call's preparation) holding it. The slot is given
        back if ``setup`` fails; otherwise the caller owns it, and the provider adapter gives it back when
        the call's request goes upstream (``ON_UPSTREAM_WAIT``, contracts/starts.py: set here, in the
        caller's context, which the stream's tasks inherit)."""
        slot = await self.enter()
        try:
            prepared = await setup()
        except BaseException:
            slot.release()
            raise
        ON_UPSTREAM_WAIT.set(slot.release)
        return prepared, slot

    async def enter(self) -> StartSlot:
        """Wait for a slot (at once when one is free and nobody waits)."""
        if self.limit == 0:
            return UNGATED
        loop = asyncio.get_running_loop()
        if self._taken < self.limit and not self._waiters:
            self._taken += 1
            self._changed()
        else:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            self._changed()
            try:
                await waiter  # the slot is handed over by ``_give_back`` (``_taken`` unchanged)
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._give_back()  # handed over just as the caller was cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):  # already skipped by ``_give_back``
                        self._waiters.remove(waiter)
                    self._changed()
                raise
        slot = StartSlot(self, None)
        slot._timer = loop.call_later(self._hold_s, slot.release)
        return slot

    def _give_back(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes straight to the next waiter
                self._changed()
                return
        self._taken -= 1
        self._changed()
