"""``BudgetStore`` in this process (one instance; lost on restart)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from contracts.budgets import BudgetRefusal, BudgetWindow

NANO = 1_000_000_000
PRUNE_AT = 10_000
"""Windows kept before those of ended periods are swept."""


def to_nano(usd: float) -> int:
    return math.ceil(usd * NANO)


class MemoryBudgetStore:
    """Spent and reservations per window key; every operation runs without awaiting, so it is atomic
    on the event loop."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._spent: dict[str, tuple[int, float]] = {}
        """key -> (nanodollars spent, period end)."""
        self._held: dict[str, dict[str, tuple[int, float]]] = {}
        """key -> lease -> (nanodollars held, lease expiry)."""

    def _committed(self, window: BudgetWindow, now: float) -> int:
        spent, ends = self._spent.get(window.key, (0, 0.0))
        if ends and ends <= now:
            self._spent.pop(window.key, None)
            spent = 0
        held = self._held.get(window.key, {})
        for lease in [lease for lease, (_, expiry) in held.items() if expiry <= now]:
            del held[lease]
        return spent + sum(amount for amount, _ in held.values())

    async def reserve(
        self, windows: Sequence[BudgetWindow], lease: str, amount_usd: float, *, lease_s: float
    ) -> BudgetRefusal | None:
        now = self._clock()
        for window in windows:
            committed = self._committed(window, now)
            if committed >= to_nano(window.cap_usd):
                return BudgetRefusal(window=window, committed_usd=committed / NANO)
        for window in windows:
            self._held.setdefault(window.key, {})[lease] = (to_nano(amount_usd), now + lease_s)
        return None

    async def settle(
        self, windows: Sequence[BudgetWindow], lease: str, reserved_usd: float, spent_usd: float
    ) -> None:
        for window in windows:
            held = self._held.get(window.key)
            if held is not None:
                held.pop(lease, None)
                if not held:
                    del self._held[window.key]
            spent, _ = self._spent.get(window.key, (0, 0.0))
            self._spent[window.key] = (spent + to_nano(spent_usd), window.resets_at)
        if len(self._spent) > PRUNE_AT:
            self._prune(self._clock())

    def _prune(self, now: float) -> None:
        """Forget the windows of periods that have ended (their keys are never asked for again)."""
        for key in [key for key, (_, ends) in self._spent.items() if ends <= now]:
            del self._spent[key]

    async def committed(self, window: BudgetWindow) -> float:
        return self._committed(window, self._clock()) / NANO
