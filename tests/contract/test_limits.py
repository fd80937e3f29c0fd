"""Per-key limits on the embedded (memory) limiter: 429 with Retry-After and RateLimit headers, and the
documented behaviour when the limit store is down (fail open or closed, never a 500)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import svcs

from contracts.errors import StoreUnavailable
from contracts.ports import RateDecision, RateLimiter
from tests.contract.test_chat import assert_problem
from tests.support.app import KEY_A, KEY_B, app_client, auth, live_server, make_settings
from tests.support.fakes import FakeModel, use_model


async def test_requests_per_minute_are_limited_per_key(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, SWITCHBOARD_RATE_LIMIT_RPM="3")) as client:
        first = await client.get("/v1/agents", headers=auth(KEY_A))
        assert first.headers["ratelimit-limit"] == "3"
        assert first.headers["ratelimit-remaining"] == "2"
        for _ in range(2):
            assert (await client.get("/v1/agents", headers=auth(KEY_A))).status_code == 200
        refused = await client.get("/v1/agents", headers=auth(KEY_A))
        assert_problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-remaining"] == "0"
        assert (await client.get("/v1/agents", headers=auth(KEY_B))).status_code == 200


async def test_tokens_per_minute_stop_a_key_that_spent_its_budget(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, SWITCHBOARD_RATE_LIMIT_TPM="150")) as client:
        statuses = [
            (await client.post("/v1/chat", json={"message": "hi"}, headers=auth(KEY_A))).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        assert (await client.post("/v1/chat", json={"message": "hi"}, headers=auth(KEY_B))).status_code == 200


async def test_concurrent_streams_are_limited_and_released(tmp_path: Path) -> None:
    runtime = FakeModel(tokens=[f"t{n} " for n in range(15)], delay=0.02)
    settings = make_settings(tmp_path, SWITCHBOARD_RATE_LIMIT_STREAMS="1")
    async with live_server(settings, configure=use_model(runtime)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            async with http.stream("POST", "/v1/chat/stream", json={"message": "a"}, headers=auth()) as first:
                chunks = first.aiter_bytes()  # keep a reference: a dropped iterator closes the response
                await anext(chunks)
                second = await http.post("/v1/chat/stream", json={"message": "b"}, headers=auth())
                assert second.status_code == 429
                assert "retry-after" in second.headers
                rest = b"".join([chunk async for chunk in chunks])
                assert b"event: run.completed" in rest
            third = await http.post("/v1/chat/stream", json={"message": "c"}, headers=auth())
            assert third.status_code == 200
            assert "event: run.completed" in third.text


class DownLimiter:
    """A limiter whose store is unreachable."""

    async def hit(self, bucket: str, *, limit: int, window_s: float, cost: int = 1) -> RateDecision:
        raise StoreUnavailable("rate limiter unavailable")

    async def charge(self, bucket: str, *, window_s: float, cost: int) -> None:
        raise StoreUnavailable("rate limiter unavailable")

    async def acquire(self, bucket: str, *, limit: int, lease_s: float) -> tuple[RateDecision, str | None]:
        raise StoreUnavailable("rate limiter unavailable")

    async def release(self, bucket: str, lease: str) -> None:
        raise StoreUnavailable("rate limiter unavailable")


def down_limiter(registry: svcs.Registry) -> None:
    registry.register_value(RateLimiter, DownLimiter())


async def test_limiter_down_fails_open_by_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SWITCHBOARD_RATE_LIMIT_RPM="5", SWITCHBOARD_RATE_LIMIT_TPM="1000")
    async with app_client(settings, configure=down_limiter) as client:
        response = await client.post("/v1/chat", json={"message": "hi"}, headers=auth())
        assert response.status_code == 200


async def test_limiter_down_fails_closed_when_configured(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, SWITCHBOARD_RATE_LIMIT_RPM="5", SWITCHBOARD_RATE_LIMIT_FAILURE="closed"
    )
    async with app_client(settings, configure=down_limiter) as client:
        response: Any = await client.post("/v1/chat", json={"message": "hi"}, headers=auth())
        body = assert_problem(response, 503, "store_unavailable")
        assert body["retryable"] is True
