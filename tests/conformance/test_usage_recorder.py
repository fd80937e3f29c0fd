"""One suite for every ``UsageRecorder`` adapter (memory, SQLite, Postgres)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from adapters.persistence.memory_usage import MemoryUsageRecorder
from adapters.persistence.sqlalchemy_usage import SqlAlchemyUsageRecorder
from contracts.accounting import UsageRecord
from contracts.ports import UsageRecorder
from contracts.usage import Usage

from .conftest import SQL_BACKENDS

T0 = datetime(2025, 3, 1, 12, 0, 0, 250_001, tzinfo=UTC)


def record(tenant_id: str, minutes: int, **usage: int) -> UsageRecord:
    return UsageRecord(
        tenant_id=tenant_id,
        key_id="key_1",
        conversation_id="c1",
        provider="scripted",
        model="echo-1",
        agent="helper",
        status="completed",
        latency_ms=12.5 + minutes,
        usage=Usage(**usage),
        created_at=T0 + timedelta(minutes=minutes),
    )


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def recorder(request: pytest.FixtureRequest) -> UsageRecorder:
    if request.param == "memory":
        return MemoryUsageRecorder()
    return SqlAlchemyUsageRecorder(request.getfixturevalue(f"{request.param}_db").runner)


async def test_since_returns_the_tenants_records_from_start_in_time_order(recorder: UsageRecorder) -> None:
    early = record("t1", 0, input_tokens=1)
    late = record(
        "t1", 10, input_tokens=3, output_tokens=4, total_tokens=7, cached_tokens=1, reasoning_tokens=2
    )
    middle = record("t1", 5, input_tokens=2)
    for item in (late, early, middle, record("t2", 5, input_tokens=99)):
        await recorder.record(item)

    assert await recorder.since("t1", T0 + timedelta(minutes=5)) == [middle, late]
    assert await recorder.since("t1", T0 - timedelta(days=1)) == [early, middle, late]
    assert await recorder.since("t3", T0 - timedelta(days=1)) == []


async def test_cost_and_cache_write_tokens_round_trip_and_an_unpriced_call_stays_unpriced(
    recorder: UsageRecorder,
) -> None:
    priced = msgspec.structs.replace(
        record("t1", 1, input_tokens=1000, output_tokens=10, total_tokens=1010, cache_write_tokens=400),
        cost_usd=0.0031875,
    )
    unpriced = record("t1", 2, input_tokens=5, output_tokens=5, total_tokens=10)
    await recorder.record(priced)
    await recorder.record(unpriced)
    assert await recorder.since("t1", T0) == [priced, unpriced]
    assert [r.cost_usd for r in await recorder.since("t1", T0)] == [0.0031875, None]
