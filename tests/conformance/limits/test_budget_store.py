"""``BudgetStore`` conformance (memory, Redis) and the ``Budgets`` service over each: caps refuse once
committed spend reaches them, reservations are atomic across windows and expire, settling replaces the
estimate with the real cost, and 50 concurrent calls overspend a cap by at most one estimate."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from adapters.limits.memory_budgets import MemoryBudgetStore
from adapters.limits.redis_budgets import RedisBudgetStore
from backend.services.budgets import Budgets
from backend.settings import BudgetSettings
from contracts.auth import Principal
from contracts.budgets import BudgetStore, BudgetWindow
from contracts.errors import BudgetExceeded
from tests.support.recording_sink import RecordingSink

from .conftest import LIMITER_BACKENDS

ENDS = time.time() + 3600
DAY = BudgetWindow(name="key_daily", key="acme:key:k1:2026-12-01", cap_usd=1.0, resets_at=ENDS)
MONTH = BudgetWindow(name="tenant_monthly", key="acme:tenant:2026-12", cap_usd=0.5, resets_at=ENDS)


@pytest.fixture(params=LIMITER_BACKENDS)
def store(request: pytest.FixtureRequest) -> BudgetStore:
    if request.param == "memory":
        return MemoryBudgetStore()
    client, prefix = request.getfixturevalue("redis_client")
    return RedisBudgetStore(client, prefix=prefix)


async def test_reservations_count_until_settled_with_the_real_cost(store: BudgetStore) -> None:
    assert await store.reserve([DAY], "a", 0.4, lease_s=60) is None
    assert await store.reserve([DAY], "b", 0.4, lease_s=60) is None
    assert await store.committed(DAY) == pytest.approx(0.8)
    await store.settle([DAY], "a", 0.4, 0.1)
    assert await store.committed(DAY) == pytest.approx(0.5)
    await store.settle([DAY], "b", 0.4, 0.95)
    refusal = await store.reserve([DAY], "c", 0.01, lease_s=60)
    assert refusal is not None and refusal.window == DAY and refusal.committed_usd == pytest.approx(1.05)


async def test_a_refusal_in_one_window_holds_nothing_in_the_others(store: BudgetStore) -> None:
    assert await store.reserve([MONTH], "a", 0.5, lease_s=60) is None  # the month is full
    refusal = await store.reserve([DAY, MONTH], "b", 0.2, lease_s=60)
    assert refusal is not None and refusal.window == MONTH
    assert await store.committed(DAY) == 0


async def test_an_unsettled_reservation_stops_counting_after_its_lease(store: BudgetStore) -> None:
    assert await store.reserve([DAY], "a", 1.0, lease_s=0.2) is None
    assert await store.reserve([DAY], "b", 0.1, lease_s=60) is not None
    await asyncio.sleep(0.3)
    assert await store.reserve([DAY], "c", 0.1, lease_s=60) is None
    assert await store.committed(DAY) == pytest.approx(0.1)


PRINCIPAL = Principal(key_id="k1", tenant_id="acme", scopes=frozenset({"chat"}))


@pytest.mark.parametrize("cost_share", [1.0, 0.5, 0.0])
async def test_50_concurrent_calls_overspend_a_cap_by_at_most_one_estimate(
    store: BudgetStore, cost_share: float
) -> None:
    """A cap of 10 estimates; each call costs ``cost_share`` of the estimate and ends at a random time."""
    estimate = 0.03
    sink = RecordingSink()
    budgets = Budgets(store, BudgetSettings(key_daily_usd=10 * estimate, estimate_usd=estimate), sink=sink)
    admitted: list[int] = []

    async def call(n: int) -> None:
        await asyncio.sleep(random.random() * 0.01)
        try:
            reservation = await budgets.reserve(PRINCIPAL)
        except BudgetExceeded:
            return
        admitted.append(n)
        await asyncio.sleep(random.random() * 0.02)
        await budgets.settle(reservation, estimate * cost_share)

    await asyncio.gather(*(call(n) for n in range(50)))
    [window] = budgets.windows(PRINCIPAL, time.time())
    spent = await store.committed(window)
    assert spent <= 10 * estimate + estimate + 1e-9
    assert spent == pytest.approx(len(admitted) * estimate * cost_share)
    if cost_share == 1.0:
        assert len(admitted) == 10
    assert len(sink.refusals) == 50 - len(admitted) and set(sink.refusals) <= {"budget_key_daily"}


async def test_the_refusal_names_the_budget_its_spend_and_its_reset(store: BudgetStore) -> None:
    now = 1_796_169_600.0 + 3600 * 5  # 2026-12-01 05:00 UTC
    budgets = Budgets(store, BudgetSettings(tenant_monthly_usd=0.1, estimate_usd=0.1), clock=lambda: now)
    reservation = await budgets.reserve(PRINCIPAL)
    await budgets.settle(reservation, 0.12)
    with pytest.raises(BudgetExceeded) as raised:
        await budgets.reserve(PRINCIPAL)
    exc = raised.value
    assert (exc.budget, exc.limit_usd, exc.spent_usd) == ("tenant_monthly", 0.1, pytest.approx(0.12))
    assert exc.resets_at == 1_798_761_600.0  # 2027-01-01 00:00 UTC
    assert exc.retry_after == exc.resets_at - now
    assert "resets at 2027-01-01 00:00 UTC" in exc.detail


async def test_the_memory_store_forgets_ended_periods() -> None:
    now = [1000.0]
    store = MemoryBudgetStore(clock=lambda: now[0])
    for n in range(10_001):
        window = BudgetWindow(name="key_daily", key=f"t:key:k{n}:day", cap_usd=1.0, resets_at=1500.0)
        await store.reserve([window], "a", 0.1, lease_s=60)
        await store.settle([window], "a", 0.1, 0.05)
    now[0] = 2000.0  # every period above has ended
    late = BudgetWindow(name="key_daily", key="t:key:late:day", cap_usd=1.0, resets_at=3000.0)
    await store.reserve([late], "b", 0.1, lease_s=60)
    await store.settle([late], "b", 0.1, 0.05)
    assert len(store._spent) == 1 and not store._held
