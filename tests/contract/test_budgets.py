"""Budgets over HTTP: 50 concurrent turns against a daily key budget that allows 10 (memory and Redis
stores), the 429 problem naming the budget and its reset, the OpenAI surface's quota error, the metric."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app import app_client, auth, make_settings

PRICE = "scripted=1000,1000"  # $0.001 a token: a turn costs about $0.1
MESSAGE = {"message": "what does this cost"}


async def measure_cost(tmp_path: Path) -> float:
    async with app_client(make_settings(tmp_path / "measure", SWITCHBOARD_PRICES=PRICE)) as client:
        usage = (await client.post("/v1/chat", json=MESSAGE, headers=auth())).json()["usage"]
    return (usage["input_tokens"] + usage["output_tokens"]) * 1000 / 1e6


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def budget_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(backend, Redis URL or None); a sync fixture, as the ``redis_url`` check runs its own loop."""
    return request.param, request.getfixturevalue("redis_url") if request.param == "redis" else None


async def test_50_concurrent_turns_against_a_budget_for_10(
    tmp_path: Path, budget_backend: tuple[str, str | None]
) -> None:
    backend, redis_url = budget_backend
    cost = await measure_cost(tmp_path)
    started = datetime.now(UTC)
    tenant, key = f"budget-{secrets.token_hex(4)}", f"key-{secrets.token_hex(8)}"
    env = {
        "SWITCHBOARD_API_KEYS": f"{key}:{tenant}:chat",
        "SWITCHBOARD_PRICES": PRICE,
        "SWITCHBOARD_BUDGET_KEY_DAILY_USD": f"{10 * cost:.9f}",
        "SWITCHBOARD_BUDGET_ESTIMATE_USD": f"{cost:.9f}",
        "SWITCHBOARD_METRICS": "true",
        "SWITCHBOARD_METRICS_AUTH": "none",
        "SWITCHBOARD_BUDGET_BACKEND": backend,
    }
    if redis_url:
        env |= {"REDIS_URL": redis_url, "SWITCHBOARD_RATE_LIMIT_BACKEND": "memory"}
        env |= {"SWITCHBOARD_STREAM_BACKEND": "memory", "SWITCHBOARD_ROUTING_BACKEND": "memory"}
    try:
        async with app_client(make_settings(tmp_path / "app", **env)) as client:
            answers = await asyncio.gather(
                *(client.post("/v1/chat", json=MESSAGE, headers=auth(key)) for _ in range(50))
            )
            summary = (await client.get("/v1/usage", headers=auth(key))).json()
            metrics = (await client.get("/metrics")).text
            quota = await client.post(
                "/v1/chat/completions",
                json={"model": "scripted", "messages": [{"role": "user", "content": "more"}]},
                headers=auth(key),
            )
    finally:
        if redis_url:
            await _delete_budget_keys(redis_url, tenant)
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 10 and statuses.count(429) == 40
    spent = sum(row["cost_usd"] for row in summary["data"])
    assert spent <= 10 * cost + cost + 1e-9

    refused = next(a for a in answers if a.status_code == 429)
    problem = refused.json()
    tomorrow = {  # the test may run across midnight
        (at + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z") for at in (started, datetime.now(UTC))
    }
    assert (
        problem["code"] == "budget_exceeded" and problem["type"] == "urn:switchboard:problem:budget_exceeded"
    )
    assert problem["budget"]["name"] == "key_daily"
    assert problem["budget"]["limit_usd"] == pytest.approx(10 * cost)
    assert problem["budget"]["spent_usd"] >= 10 * cost - 1e-9
    assert problem["budget"]["resets_at"] in tomorrow
    assert 0 < int(refused.headers["retry-after"]) <= 86_400

    assert quota.status_code == 429 and quota.json()["error"]["code"] == "insufficient_quota"
    refusals = sum(
        s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "switchboard_limit_refusals_total" and s.labels["limit"] == "budget_key_daily"
    )
    assert refusals == 40  # scraped before the quota call


async def _delete_budget_keys(redis_url: str, tenant: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"sb:budget:{{{tenant}}}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
