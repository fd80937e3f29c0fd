"""Spending caps in US dollars per API key and per tenant, per UTC day and month (docs/budgets.md).

A call reserves an estimate in every window that applies before it runs, atomically across them; its
real cost replaces the reservation when it ends. A reservation not settled (an instance that died) is
dropped after its lease. Amounts are held as integer nanodollars by the stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from contracts.base import Struct


class BudgetWindow(Struct, frozen=True, kw_only=True):
    """One cap over one period: ``name`` (``key_daily``, ``key_monthly``, ``tenant_daily``,
    ``tenant_monthly``), the store ``key`` naming the tenant first, then the owner and the period
    (``acme:key:<key id>:2026-12-01``), and when the period ends (unix seconds)."""

    name: str
    key: str
    cap_usd: float
    resets_at: float


class BudgetRefusal(Struct, frozen=True, kw_only=True):
    """The window that refused, and what was committed in it (spent plus live reservations)."""

    window: BudgetWindow
    committed_usd: float


class BudgetStore(Protocol):
    """Committed spend per window, shared by every instance using the same backend (Redis) or local."""

    async def reserve(
        self, windows: Sequence[BudgetWindow], lease: str, amount_usd: float, *, lease_s: float
    ) -> BudgetRefusal | None:
        """Atomically across ``windows``: refuse (nothing held) when any window's committed spend has
        reached its cap; else hold ``amount_usd`` in each under ``lease`` until ``settle`` or ``lease_s``."""
        ...

    async def settle(
        self, windows: Sequence[BudgetWindow], lease: str, reserved_usd: float, spent_usd: float
    ) -> None:
        """Drop the lease's reservation (of ``reserved_usd``) and add what the call really cost."""
        ...

    async def committed(self, window: BudgetWindow) -> float:
        """Spent plus live reservations, in US dollars."""
        ...
