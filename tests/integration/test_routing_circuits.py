"""Circuits at the service level: a deployment that keeps failing is skipped without being tried, one
probe closes its circuit when it is back, and two instances sharing Redis agree on all of it."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.mock_upstream.server import MockUpstream, running_mock
from tests.support.app import auth, live_server, make_settings

pytestmark = pytest.mark.services
GENERATION = "/v1/chat/completions"


def env_for(a: MockUpstream, b: MockUpstream, names: tuple[str, str], redis_url: str) -> dict[str, str]:
    first, second = names
    env = {"SWITCHBOARD_PROVIDERS": f"{first},{second}", "REDIS_URL": redis_url}
    for name, mock in ((first, a), (second, b)):
        prefix = f"SWITCHBOARD_PROVIDER_{name.upper()}_"
        env |= {
            f"{prefix}KIND": "openai",
            f"{prefix}BASE_URL": mock.base_url,
            f"{prefix}API_MODE": "chat_completions",
            f"{prefix}MODEL": "m",
        }
    env |= {
        "SWITCHBOARD_ROUTE_R": f"{first}, {second}",
        "SWITCHBOARD_ROUTING_RETRIES": "0",
        "SWITCHBOARD_ROUTING_FAILURES_TO_OPEN": "2",
        "SWITCHBOARD_ROUTING_COOLDOWN_S": "1",
        "SWITCHBOARD_SESSION_STORE": "memory",
        "SWITCHBOARD_RATE_LIMIT_BACKEND": "memory",
        "SWITCHBOARD_STREAM_BACKEND": "memory",
    }
    return env


async def answer(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        response = await http.post("/v1/chat", json={"message": "hi", "model": "r"}, headers=auth())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def state(url: str, deployment: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        routes = (await http.get("/v1/routes", headers=auth())).json()["data"]
    [route] = [r for r in routes if r["name"] == "r"]
    return str(next(d["health"]["state"] for d in route["deployments"] if d["id"] == deployment))


async def eventually(check: Callable[[], Any], within_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def two_instances(
    tmp_path: Path, redis_url: str
) -> AsyncIterator[tuple[MockUpstream, MockUpstream, str, str, str]]:
    names = (f"p{secrets.token_hex(3)}", f"q{secrets.token_hex(3)}")  # circuit keys of this test only
    async with running_mock() as a, running_mock() as b:
        env = env_for(a, b, names, redis_url)
        async with contextlib.AsyncExitStack() as stack:
            one = await stack.enter_async_context(live_server(make_settings(tmp_path / "one", **env)))
            two = await stack.enter_async_context(live_server(make_settings(tmp_path / "two", **env)))
            yield a, b, one, two, f"{names[0]}:m"


async def test_a_failing_deployment_is_skipped_everywhere_then_probed_back(
    two_instances: tuple[MockUpstream, MockUpstream, str, str, str],
) -> None:
    a, _b, one, two, deployment = two_instances
    a.config.outage = "500"
    assert (await answer(one))["provider"] != deployment.split(":")[0]  # a fails, b answers
    assert (await answer(two))["attempts"][0]["failure"] == "server_error"  # second failure, other instance
    assert len(a.requests_to(GENERATION)) == 2
    await eventually(lambda: _is(one, deployment, "cooling"))
    await eventually(lambda: _is(two, deployment, "cooling"))

    for url in (one, two, one, two):
        skipped = await answer(url)
        assert skipped["attempts"] == []  # not tried at all
    assert len(a.requests_to(GENERATION)) == 2

    a.config.outage = None  # the upstream is back
    await asyncio.sleep(1.1)  # the cooldown
    probe = await answer(one)
    assert probe["provider"] == deployment.split(":")[0]
    assert len(a.requests_to(GENERATION)) == 3
    await eventually(lambda: _is(two, deployment, "ok"))
    assert (await answer(two))["provider"] == deployment.split(":")[0]


async def _is(url: str, deployment: str, wanted: str) -> bool:
    return await state(url, deployment) == wanted
