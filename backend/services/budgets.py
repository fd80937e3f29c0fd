"""Spending caps per API key and per tenant, per UTC day and month (docs/budgets.md).

Before a call runs, ``reserve`` holds the configured estimate in every window that applies, atomically
across them (``BudgetStore``: memory or Redis); a window whose committed spend (spent plus live
reservations) has reached its cap refuses with ``BudgetExceeded`` (429, the budget and its reset time).
When the call ends, the ``CallLedger`` settles the reservation with the call's real cost. So with calls
costing at most the estimate, a cap is overspent by at most one estimate, however many calls race for
the last dollars. Unpriced calls (no known price) settle at 0. A store outage follows
``SWITCHBOARD_RATE_LIMIT_FAILURE`` (``open``: admit and log; ``closed``: 503).
"""

from __future__ import annotations

import calendar
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from backend.settings import BudgetSettings
from contracts.auth import Principal
from contracts.budgets import BudgetStore, BudgetWindow
from contracts.errors import BudgetExceeded, StoreUnavailable
from contracts.telemetry import CallSink

log = structlog.get_logger("switchboard.budgets")
LEASE_S = 600.0
"""A reservation not settled by then (its instance died) stops counting."""


@dataclass(slots=True)
class Reservation:
    """What one call holds until it ends; settled once."""

    windows: tuple[BudgetWindow, ...]
    lease: str
    amount_usd: float
    settled: bool = False


class Budgets:
    def __init__(
        self,
        store: BudgetStore,
        settings: BudgetSettings,
        *,
        fail_closed: bool = False,
        sink: CallSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._fail_closed = fail_closed
        self._sink = sink
        self._clock = clock
        self._enabled = settings.enabled

    def windows(self, principal: Principal, now: float) -> tuple[BudgetWindow, ...]:
        """The caps that apply to ``principal`` at ``now``."""
        s = self._settings
        day, month, day_ends, month_ends = _periods(now)
        tenant = principal.tenant_id
        wanted = (
            ("key_daily", s.key_daily_usd, f"{tenant}:key:{principal.key_id}:{day}", day_ends),
            ("key_monthly", s.key_monthly_usd, f"{tenant}:key:{principal.key_id}:{month}", month_ends),
            ("tenant_daily", s.tenant_daily_usd, f"{tenant}:tenant:{day}", day_ends),
            ("tenant_monthly", s.tenant_monthly_usd, f"{tenant}:tenant:{month}", month_ends),
        )
        return tuple(
            BudgetWindow(name=name, key=key, cap_usd=cap, resets_at=ends)
            for name, cap, key, ends in wanted
            if cap > 0
        )

    async def reserve(self, principal: Principal) -> Reservation | None:
        """Hold the estimate, or raise ``BudgetExceeded``. None: no cap applies (or fail-open)."""
        if not self._enabled:
            return None
        now = self._clock()
        windows = self.windows(principal, now)
        if not windows:
            return None
        reservation = Reservation(windows, uuid.uuid4().hex, self._settings.estimate_usd)
        try:
            refusal = await self._store.reserve(
                windows, reservation.lease, reservation.amount_usd, lease_s=LEASE_S
            )
        except StoreUnavailable:
            if self._fail_closed:
                raise
            log.warning("budgets.backend_unavailable", policy="fail-open")
            return None
        if refusal is None:
            return reservation
        window = refusal.window
        if self._sink is not None:
            self._sink.refused(f"budget_{window.name}")
        raise BudgetExceeded(
            f"the {window.name.replace('_', ' ')} budget of ${window.cap_usd:g} is spent; it resets at "
            f"{datetime.fromtimestamp(window.resets_at, UTC):%Y-%m-%d %H:%M} UTC",
            budget=window.name,
            limit_usd=window.cap_usd,
            spent_usd=refusal.committed_usd,
            resets_at=window.resets_at,
            retry_after=max(window.resets_at - now, 1.0),
        )

    async def settle(self, reservation: Reservation | None, cost_usd: float | None) -> None:
        """Replace the reservation with the call's cost (None: unpriced, 0). Once; never raises."""
        if reservation is None or reservation.settled:
            return
        reservation.settled = True
        try:
            await self._store.settle(
                reservation.windows, reservation.lease, reservation.amount_usd, cost_usd or 0.0
            )
        except Exception as exc:  # the lease expires on its own
            log.warning("budgets.settle_failed", error=type(exc).__name__)


def _periods(now: float) -> tuple[str, str, float, float]:
    """(day label, month label, end of day, end of month) in UTC, as unix seconds."""
    at = datetime.fromtimestamp(now, UTC)
    start_of_day = calendar.timegm((at.year, at.month, at.day, 0, 0, 0))
    days = calendar.monthrange(at.year, at.month)[1]
    month_ends = calendar.timegm((at.year, at.month, days, 0, 0, 0)) + 86_400
    return f"{at:%Y-%m-%d}", f"{at:%Y-%m}", float(start_of_day + 86_400), float(month_ends)
