"""Routes across two mock upstreams with injected faults: for each fault, JSON and SSE, what the client
gets, which deployment answered, the attempts made, and what the conversation stored (docs/routing.md has
the table these tests hold true).

The mock cuts, stalls or garbles a stream after its first two pieces (``malformed``, ``drop``, ``stall``),
so those are failures after the first token on SSE. Route ``r`` = ``a:<fault model>`` (mock A, which applies the fault named by the model) then ``b`` (mock B,
healthy). Faults come from the mock's model-name convention (``fault-500``...). Timeouts are short so
timeouts and stalls are quick: 0.6 s per answer, 0.4 s of silence between stream chunks.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.mock_upstream.faults import MockConfig
from ops.mock_upstream.server import MockUpstream, running_mock
from tests.support.app import auth, live_server, make_settings
from tests.support.sse import parse_frames

GENERATION = "/v1/chat/completions"


@dataclass
class Stack:
    url: str
    a: MockUpstream
    b: MockUpstream

    def calls(self, mock: MockUpstream) -> list[Any]:
        return mock.requests_to(GENERATION)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    config = MockConfig(timeout_sleep_s=5.0, stall_s=3.0, drop_after=2)
    async with running_mock(config=config) as a, running_mock() as b:
        env: dict[str, str] = {"SWITCHBOARD_PROVIDERS": "a,b,dead"}
        for name, url in (
            ("A", a.base_url),
            ("B", b.base_url),
            ("DEAD", f"http://127.0.0.1:{closed_port()}/v1"),
        ):
            env |= {
                f"SWITCHBOARD_PROVIDER_{name}_KIND": "openai",
                f"SWITCHBOARD_PROVIDER_{name}_BASE_URL": url,
                f"SWITCHBOARD_PROVIDER_{name}_API_MODE": "chat_completions",
                f"SWITCHBOARD_PROVIDER_{name}_MODEL": "healthy",
                f"SWITCHBOARD_PROVIDER_{name}_TIMEOUT_S": "0.6",
                f"SWITCHBOARD_PROVIDER_{name}_STREAM_IDLE_TIMEOUT_S": "0.4",
                f"SWITCHBOARD_PROVIDER_{name}_CONNECT_TIMEOUT_S": "0.5",
            }
        env |= {
            "SWITCHBOARD_ROUTING_RETRIES": "1",
            "SWITCHBOARD_ROUTING_RETRY_BASE_DELAY_S": "0.01",
            "SWITCHBOARD_ROUTING_MAX_RETRY_AFTER_S": "0.5",  # the mock's Retry-After (1 s) is longer: fall back
            "SWITCHBOARD_ROUTING_FAILURES_TO_OPEN": "1000",
            "SWITCHBOARD_ROUTING_FAILURE_RATE": "1",
        }
        for fault in ("429", "500", "timeout", "malformed", "drop-before", "drop", "stall"):
            env[f"SWITCHBOARD_ROUTE_{fault.replace('-', '_').upper()}"] = f"a:fault-{fault}, b"
        env["SWITCHBOARD_ROUTE_REFUSED"] = "dead, b"
        async with live_server(make_settings(tmp_path, **env)) as url:
            yield Stack(url, a, b)


async def chat(stack: Stack, route: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            "/v1/chat", json={"message": "tell me a short story", "model": route}, headers=auth()
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def stream(stack: Stack, route: str) -> tuple[list[Any], list[dict[str, Any]]]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            "/v1/chat/stream", json={"message": "tell me a short story", "model": route}, headers=auth()
        )
        frames = parse_frames(response.text)
        cid = frames[0].data["conversation_id"]
        items = (await http.get(f"/v1/conversations/{cid}", headers=auth())).json()["items"]
    return frames, items


FALLBACK = [
    ("429", ["rate_limited"]),
    ("500", ["server_error", "server_error"]),
    ("timeout", ["timeout", "timeout"]),
    ("refused", ["refused", "refused"]),
    ("malformed", ["malformed", "malformed"]),
    ("drop_before", ["dropped", "dropped"]),
]


@pytest.mark.parametrize(("route", "failures"), FALLBACK)
async def test_a_json_turn_falls_back_to_the_healthy_deployment(
    stack: Stack, route: str, failures: list[str]
) -> None:
    body = await chat(stack, route)
    assert (body["provider"], body["model"], body["route"]) == ("b", "healthy", route)
    assert body["output"] == "Mock answer to: tell me a short story"
    assert [a["failure"] for a in body["attempts"]] == failures
    assert {a["provider"] for a in body["attempts"]} == {"dead" if route == "refused" else "a"}
    assert len(stack.calls(stack.b)) == 1


@pytest.mark.parametrize(("route", "failures"), [f for f in FALLBACK if f[0] != "malformed"])
async def test_a_stream_that_fails_before_its_first_token_falls_back_seamlessly(
    stack: Stack, route: str, failures: list[str]
) -> None:
    frames, items = await stream(stack, route)
    events = [f.event for f in frames]
    assert events[0] == "run.started" and events[-1] == "run.completed"
    assert events.count("run.completed") + events.count("run.failed") == 1
    completed = frames[-1].data
    assert (completed["provider"], completed["model"]) == ("b", "healthy")
    assert [a["failure"] for a in completed["attempts"]] == failures
    text = "".join(f.data["delta"] for f in frames if f.event == "text.delta")
    assert text == "Mock answer to: tell me a short story"  # one answer, nothing spliced
    assert [(i["type"], i.get("status"), i.get("provider")) for i in items] == [
        ("user_message", None, None),
        ("assistant_message", "completed", "b"),
    ]


@pytest.mark.parametrize(
    ("route", "failure"), [("drop", "dropped"), ("stall", "stalled"), ("malformed", "malformed")]
)
async def test_a_stream_that_fails_after_its_first_token_ends_with_one_run_failed(
    stack: Stack, route: str, failure: str
) -> None:
    frames, items = await stream(stack, route)
    events = [f.event for f in frames]
    assert events[-1] == "run.failed" and events.count("run.failed") == 1 and "run.completed" not in events
    failed = frames[-1].data
    assert (failed["error"]["failure"], failed["error"]["retryable"]) == (failure, True)
    assert [a["provider"] for a in failed["attempts"]] == ["a"]
    assert stack.calls(stack.b) == []  # never a second answer spliced onto the first
    partial = "".join(f.data["delta"] for f in frames if f.event == "text.delta")
    assert partial == "Mock answer "
    assert [(i["type"], i.get("status"), i.get("text")) for i in items] == [
        ("user_message", None, "tell me a short story"),
        ("assistant_message", "failed", partial),
    ]


@pytest.mark.parametrize(
    ("route", "failures"), [("drop", ["dropped", "dropped"]), ("stall", ["timeout", "timeout"])]
)
async def test_a_json_turn_cut_mid_answer_falls_back(stack: Stack, route: str, failures: list[str]) -> None:
    body = await chat(stack, route)
    assert body["provider"] == "b"
    assert [a["failure"] for a in body["attempts"]] == failures
