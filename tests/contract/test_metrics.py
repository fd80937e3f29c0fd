"""``GET /metrics`` on the real app: off by default, operator-only by default, and the series after JSON,
SSE, refused and failed-over requests (the offline provider, and the mock upstream for fallback)."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ops.mock_upstream.server import running_mock
from tests.support.app import API_KEYS, KEY_A, app_client, auth, live_server, make_settings

OPERATOR = "key-operator"
KEYS = f"{API_KEYS},{OPERATOR}:ops:operator"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_metrics_are_off_unless_enabled(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path)) as client:
        assert (await client.get("/metrics", headers=auth(KEY_A))).status_code == 404


async def test_metrics_need_an_operator_key_unless_opened(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SWITCHBOARD_METRICS="true", SWITCHBOARD_API_KEYS=KEYS)
    async with app_client(settings) as client:
        anonymous = await client.get("/metrics")
        chat_key = await client.get("/metrics", headers=auth(KEY_A))
        operator = await client.get("/metrics", headers=auth(OPERATOR))
    assert (anonymous.status_code, chat_key.status_code, operator.status_code) == (401, 403, 200)
    assert chat_key.headers["content-type"].startswith("application/problem+json")
    assert operator.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    assert "# TYPE switchboard_calls_total counter" in operator.text
    opened = make_settings(tmp_path, SWITCHBOARD_METRICS="true", SWITCHBOARD_METRICS_AUTH="none")
    async with app_client(opened) as client:
        assert (await client.get("/metrics")).status_code == 200


async def test_json_sse_and_refused_requests_show_in_the_series(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, SWITCHBOARD_METRICS="true", SWITCHBOARD_API_KEYS=KEYS, SWITCHBOARD_RATE_LIMIT_RPM="2"
    )
    async with app_client(settings) as client:
        answer = (await client.post("/v1/chat", json={"message": "count my tokens"}, headers=auth())).json()
        stream = await client.post("/v1/chat/stream", json={"message": "and stream"}, headers=auth())
        refused = await client.post("/v1/chat", json={"message": "one too many"}, headers=auth())
        found = parse((await client.get("/metrics", headers=auth(OPERATOR))).text)
    assert stream.status_code == 200 and "run.completed" in stream.text
    assert refused.status_code == 429
    chat = {"surface": "chat", "route": "default", "deployment": "scripted"}
    assert value(found, "switchboard_calls_total", **chat, outcome="completed") == 2
    assert value(found, "switchboard_call_duration_seconds_count", **chat, outcome="completed") == 2
    assert value(found, "switchboard_time_to_first_token_seconds_count", **chat) == 1  # the SSE turn only
    assert value(found, "switchboard_tokens_total", **chat, kind="output") >= answer["usage"]["output_tokens"]
    assert value(found, "switchboard_limit_refusals_total", limit="requests_per_minute") == 1
    assert value(found, "switchboard_open_streams", surface="chat") == 0
    assert value(found, "switchboard_stream_starts", state="starting") == 0  # the stream's slot came back
    assert value(found, "switchboard_stream_starts", state="waiting") == 0
    circuit = {"route": "default", "deployment": "scripted:scripted-1"}
    assert value(found, "switchboard_circuit_state", **circuit, state="ok") == 1


async def test_a_fallback_counts_the_failed_attempt_and_the_deployment_that_answered(tmp_path: Path) -> None:
    async with running_mock() as mock:
        env = {
            "SWITCHBOARD_PROVIDERS": "local,resp",
            "SWITCHBOARD_PROVIDER_LOCAL_KIND": "openai",
            "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_LOCAL_API_MODE": "chat_completions",
            "SWITCHBOARD_PROVIDER_LOCAL_MODEL": "mock-chat",
            "SWITCHBOARD_PROVIDER_RESP_KIND": "openai",
            "SWITCHBOARD_PROVIDER_RESP_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_RESP_API_MODE": "responses",
            "SWITCHBOARD_PROVIDER_RESP_MODEL": "mock-resp",
            "SWITCHBOARD_ROUTE_BOTH": "local:fault-500, resp",
            "SWITCHBOARD_ROUTING_RETRIES": "0",
            "SWITCHBOARD_METRICS": "true",
            "SWITCHBOARD_API_KEYS": KEYS,
        }
        async with (
            live_server(make_settings(tmp_path, **env)) as url,
            httpx.AsyncClient(base_url=url) as http,
        ):
            body = {"model": "both", "messages": [{"role": "user", "content": "hello"}]}
            answered = await http.post("/v1/chat/completions", json=body, headers=auth())
            streamed = await http.post("/v1/chat/completions", json={**body, "stream": True}, headers=auth())
            found = parse((await http.get("/metrics", headers=auth(OPERATOR))).text)
    assert answered.status_code == 200 and streamed.status_code == 200
    attempts = [
        (dict(labels), count)
        for (name, labels), count in found.items()
        if name == "switchboard_fallback_attempts_total"
    ]
    assert [(labels["route"], labels["deployment"], count) for labels, count in attempts] == [
        ("both", "local", 2)
    ]
    via = {"surface": "openai.chat", "route": "both", "deployment": "resp"}
    assert value(found, "switchboard_calls_total", **via, outcome="completed") == 2
    assert value(found, "switchboard_time_to_first_token_seconds_count", **via) == 1
    assert value(found, "switchboard_tokens_total", **via, kind="input") > 0
    assert value(found, "switchboard_open_streams", surface="openai.chat") == 0
