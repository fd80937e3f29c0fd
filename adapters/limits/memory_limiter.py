"""``RateLimiter`` in process memory: exact sliding-window logs and leased concurrency slots.

Right for one instance (and tests); several instances need ``RedisRateLimiter`` to share one budget.
Every method runs without awaiting, so each is atomic on the event loop without a lock. Times are in
seconds on the injected monotonic ``clock``.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.ports import RateDecision


@dataclass(slots=True)
class _Window:
    """Counted hits of one bucket, oldest first, as (time, cost), with their running sum."""

    entries: deque[tuple[float, int]] = field(default_factory=deque)
    used: int = 0

    def prune(self, cutoff: float) -> None:
        """Forget entries at or before ``cutoff``."""
        while self.entries and self.entries[0][0] <= cutoff:
            self.used -= self.entries.popleft()[1]

    def add(self, now: float, cost: int) -> None:
        if cost > 0:
            self.entries.append((now, cost))
            self.used += cost

    def wait_until_fits(self, now: float, window_s: float, limit: int, need: int) -> float:
        """Seconds until enough old entries leave the window for ``need`` more to fit under ``limit``."""
        if need > limit:
            return window_s
        freed = 0
        for stamp, cost in self.entries:
            freed += cost
            if self.used - freed + need <= limit:
                return max(stamp + window_s - now, 0.0)
        return window_s


def _check(window_s: float, cost: int) -> None:
    """Reject arguments no caller should pass (same rules as ``RedisRateLimiter``)."""
    if cost < 0:
        raise ValueError(f"cost must not be negative, got {cost}")
    if not window_s > 0 or window_s == float("inf"):
        raise ValueError(f"a duration must be positive and finite, got {window_s!r}")


class MemoryRateLimiter:
    """Sliding-window limits and concurrent slots kept in this process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._leases: dict[str, dict[str, float]] = {}

    def _window(self, bucket: str, window_s: float, cost: int) -> tuple[_Window, float]:
        _check(window_s, cost)
        now = self._clock()
        window = self._windows.setdefault(bucket, _Window())
        window.prune(now - window_s)
        return window, now

    async def hit(self, bucket: str, *, limit: int, window_s: float, cost: int = 1) -> RateDecision:
        """Allow when ``cost`` (at least 1 for the check, so a cost-0 probe fails once the budget is
        spent) fits in what is left of ``limit`` over the last ``window_s``; count it only if allowed."""
        window, now = self._window(bucket, window_s, cost)
        need = max(cost, 1)
        if window.used + need > limit:
            reset = window.wait_until_fits(now, window_s, limit, need)
            return RateDecision(allowed=False, limit=limit, remaining=0, reset_s=reset)
        window.add(now, cost)
        reset = window.entries[0][0] + window_s - now if window.entries else 0.0
        if not window.entries:
            del self._windows[bucket]
        return RateDecision(
            allowed=True, limit=limit, remaining=max(limit - window.used, 0), reset_s=max(reset, 0.0)
        )

    async def charge(self, bucket: str, *, window_s: float, cost: int) -> None:
        """Count ``cost`` now, unchecked; it leaves the window ``window_s`` later."""
        window, now = self._window(bucket, window_s, cost)
        window.add(now, cost)
        if not window.entries:
            del self._windows[bucket]

    async def acquire(self, bucket: str, *, limit: int, lease_s: float) -> tuple[RateDecision, str | None]:
        """Take a slot for at most ``lease_s`` seconds; expired leases are freed first."""
        _check(lease_s, 0)
        now = self._clock()
        leases = {lease: end for lease, end in self._leases.pop(bucket, {}).items() if end > now}
        if len(leases) >= limit:
            if leases:
                self._leases[bucket] = leases
            reset = max(min(leases.values(), default=now) - now, 0.0)
            return RateDecision(allowed=False, limit=limit, remaining=0, reset_s=reset), None
        lease = uuid.uuid4().hex
        leases[lease] = now + lease_s
        self._leases[bucket] = leases
        decision = RateDecision(allowed=True, limit=limit, remaining=limit - len(leases), reset_s=0.0)
        return decision, lease

    async def release(self, bucket: str, lease: str) -> None:
        """Free a slot; releasing an unknown or expired lease does nothing."""
        leases = self._leases.get(bucket)
        if leases is not None:
            leases.pop(lease, None)
            if not leases:
                del self._leases[bucket]
