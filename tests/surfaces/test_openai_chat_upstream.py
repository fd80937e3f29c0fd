"""``POST /v1/chat/completions`` against the mock OpenAI upstream: pass-through to a Chat Completions
deployment, the neutral path to a Responses one, fallback between them, and the errors a client sees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from ops.mock_upstream.server import MockUpstream, running_mock
from tests.support.app import KEY_A, auth, live_server, make_settings

CHAT_PATH, RESPONSES_PATH = "/v1/chat/completions", "/v1/responses"


@dataclass
class Stack:
    base_url: str
    mock: MockUpstream
    api: openai.AsyncOpenAI

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.mock.requests_to(path)]


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
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
        }
        async with live_server(make_settings(tmp_path, **env)) as url:
            async with openai.AsyncOpenAI(api_key=KEY_A, base_url=f"{url}/v1", max_retries=0) as api:
                yield Stack(f"{url}/v1", mock, api)


async def test_same_protocol_is_passed_through_with_unknown_fields_intact(stack: Stack) -> None:
    answer = await stack.api.chat.completions.create(
        model="local",
        messages=[{"role": "user", "content": "hello"}],
        logit_bias={"50256": -100},
        extra_body={"vendor_knob": {"depth": 3}},
    )
    assert answer.choices[0].message.content == "Mock answer to: hello"
    [sent] = stack.bodies(CHAT_PATH)
    assert sent["model"] == "mock-chat"
    assert sent["logit_bias"] == {"50256": -100}
    assert sent["vendor_knob"] == {"depth": 3}
    assert stack.mock.requests_to(CHAT_PATH)[0].headers["user-agent"].startswith("switchboard/")


async def test_a_passed_through_stream_relays_chunks_and_hides_the_usage_chunk_unless_asked(
    stack: Stack,
) -> None:
    stream = await stack.api.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Mock answer to: one two three"
    assert all(c.choices for c in chunks)
    [sent] = stack.bodies(CHAT_PATH)
    assert sent["stream_options"] == {"include_usage": True}  # we always ask, for accounting

    stream = await stack.api.chat.completions.create(
        model="local",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


async def test_usage_of_passed_through_calls_is_recorded(stack: Stack) -> None:
    answer = await stack.api.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "count me"}]
    )
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        rows = (await http.get("/usage", headers=auth())).json()["data"]
    assert answer.usage is not None
    assert [(r["provider"], r["model"], r["requests"], r["total_tokens"]) for r in rows] == [
        ("local", "mock-chat", 1, answer.usage.total_tokens)
    ]


async def test_another_protocol_goes_through_the_neutral_request(stack: Stack) -> None:
    answer = await stack.api.chat.completions.create(
        model="resp",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
    )
    assert answer.choices[0].message.content == "Mock answer to: hello"
    [sent] = stack.bodies(RESPONSES_PATH)
    assert (sent["model"], sent["instructions"]) == ("mock-resp", "Be brief.")
    assert stack.bodies(CHAT_PATH) == []


async def test_a_failing_deployment_falls_back_to_the_next_protocol(stack: Stack) -> None:
    answer = await stack.api.chat.completions.create(
        model="both", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "Mock answer to: hi"
    assert [r.status for r in stack.mock.requests_to(CHAT_PATH)] == [500]
    assert len(stack.mock.requests_to(RESPONSES_PATH)) == 1


async def test_a_streamed_call_falls_back_before_its_first_token(stack: Stack) -> None:
    stream = await stack.api.chat.completions.create(
        model="both", messages=[{"role": "user", "content": "hi there"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Mock answer to: hi there"


async def test_upstream_errors_reach_the_client_in_its_own_exceptions(stack: Stack) -> None:
    with pytest.raises(openai.InternalServerError) as failed:
        await stack.api.chat.completions.create(
            model="local/fault-500", messages=[{"role": "user", "content": "x"}]
        )
    assert failed.value.status_code == 503
    assert "Server had an error" not in str(failed.value.body)  # never the upstream's own text
    with pytest.raises(openai.BadRequestError) as too_long:
        await stack.api.chat.completions.create(
            model="local/fault-400-context", messages=[{"role": "user", "content": "x"}]
        )
    assert too_long.value.code == "context_length_exceeded"
    with pytest.raises(openai.InternalServerError) as refused:
        await stack.api.chat.completions.create(
            model="local/fault-401", messages=[{"role": "user", "content": "x"}]
        )
    assert refused.value.status_code == 502  # the operator's key, not the client's: not retryable
    assert KEY_A not in str(refused.value.body)


async def test_a_stream_that_fails_after_its_first_token_ends_with_one_error_event(stack: Stack) -> None:
    stream = await stack.api.chat.completions.create(
        model="local/fault-drop", messages=[{"role": "user", "content": "tell me a long story"}], stream=True
    )
    received: list[str] = []

    async def read() -> None:
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")

    with pytest.raises(openai.APIError) as failed:
        await read()
    assert "".join(received) == "Mock answer "
    assert "dropped" in str(failed.value.body) or "connection" in str(failed.value.message).lower()
