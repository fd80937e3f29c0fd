"""``POST /v1/messages`` against the mock upstream with the ``anthropic`` client: pass-through to an
Anthropic deployment (unknown fields, thinking, documents intact), the neutral path to an OpenAI-kind
deployment (cross-protocol, streaming and tools included), token counting, fallback, and the errors a
client sees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from ops.mock_upstream.server import MockUpstream, running_mock
from tests.support.app import KEY_A, auth, live_server, make_settings

MESSAGES, CHAT = "/v1/messages", "/v1/chat/completions"
UPSTREAM_KEY = "sk-ant-operator-secret"
CALCULATOR = {
    "name": "calculator",
    "description": "Evaluate arithmetic.",
    "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}}},
}


@dataclass
class Stack:
    base_url: str
    mock: MockUpstream
    api: anthropic.AsyncAnthropic

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.mock.requests_to(path)]


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_mock() as mock:
        env = {
            "SWITCHBOARD_PROVIDERS": "claude,local",
            "SWITCHBOARD_PROVIDER_CLAUDE_KIND": "anthropic",
            "SWITCHBOARD_PROVIDER_CLAUDE_BASE_URL": mock.url,
            "SWITCHBOARD_PROVIDER_CLAUDE_API_KEY": UPSTREAM_KEY,
            "SWITCHBOARD_PROVIDER_CLAUDE_MODEL": "claude-mock",
            "SWITCHBOARD_PROVIDER_LOCAL_KIND": "openai",
            "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_LOCAL_API_MODE": "chat_completions",
            "SWITCHBOARD_PROVIDER_LOCAL_MODEL": "mock-chat",
            "SWITCHBOARD_ROUTE_BOTH": "claude:fault-500, local",
            "SWITCHBOARD_ROUTING_RETRIES": "0",
        }
        async with live_server(make_settings(tmp_path, **env)) as url:
            async with anthropic.AsyncAnthropic(api_key=KEY_A, base_url=url, max_retries=0) as api:
                yield Stack(url, mock, api)


HI = [{"role": "user", "content": "hello"}]


async def test_same_protocol_is_passed_through_with_unknown_fields_intact(stack: Stack) -> None:
    raw = await stack.api.messages.with_raw_response.create(
        model="claude",
        max_tokens=50,
        messages=HI,  # type: ignore[arg-type]
        extra_body={"top_k": 3, "vendor_knob": {"depth": 3}},
    )
    message = await raw.parse()
    assert message.content[0].text == "Mock answer to: hello"  # type: ignore[union-attr]
    assert message.id == "msg_000001"  # the upstream's own answer, relayed
    [sent] = stack.bodies(MESSAGES)
    assert (sent["model"], sent["max_tokens"], sent["top_k"], sent["vendor_knob"]) == (
        "claude-mock",
        50,
        3,
        {"depth": 3},
    )
    record = stack.mock.requests_to(MESSAGES)[0]
    assert record.headers["user-agent"].startswith("switchboard/") and record.credentials


async def test_thinking_blocks_pass_through_and_streams_carry_the_text(stack: Stack) -> None:
    """A whole answer is relayed with its thinking block. A stream whose tenant policy has output rules
    (the default policy does) takes the neutral path so the rules see every delta: text only."""
    thinking = {"type": "enabled", "budget_tokens": 1024}
    whole = await stack.api.messages.create(
        model="claude",
        max_tokens=2048,
        messages=HI,  # type: ignore[arg-type]
        thinking=thinking,  # type: ignore[arg-type]
    )
    assert [b.type for b in whole.content] == ["thinking", "text"]
    assert whole.content[0].signature == "sig-000001"  # type: ignore[union-attr]
    async with stack.api.messages.stream(
        model="claude",
        max_tokens=2048,
        messages=HI,  # type: ignore[arg-type]
        thinking=thinking,  # type: ignore[arg-type]
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Mock answer to: hello" and final.usage.output_tokens == 4
    assert stack.bodies(MESSAGES)[-1]["thinking"] == thinking


async def test_blocks_only_anthropic_reads_go_through_but_are_refused_elsewhere(stack: Stack) -> None:
    document = [
        {
            "role": "user",
            "content": [
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a b"}},
                {"type": "text", "text": "summarise"},
            ],
        }
    ]
    message = await stack.api.messages.create(model="claude", max_tokens=50, messages=document)  # type: ignore[arg-type]
    assert message.content[0].text == "Mock answer to: summarise"  # type: ignore[union-attr]
    assert stack.bodies(MESSAGES)[0]["messages"] == document
    with pytest.raises(anthropic.BadRequestError) as refused:
        await stack.api.messages.create(model="local", max_tokens=50, messages=document)  # type: ignore[arg-type]
    assert "messages.0.content.0.type" in refused.value.message
    assert stack.bodies(CHAT) == []


async def test_another_protocol_goes_through_the_neutral_request(stack: Stack) -> None:
    message = await stack.api.messages.create(model="local", max_tokens=50, system="Be brief.", messages=HI)  # type: ignore[arg-type]
    assert message.content[0].text == "Mock answer to: hello"  # type: ignore[union-attr]
    assert message.model == "mock-chat" and message.stop_reason == "end_turn"
    # the mock reports 3 input tokens, 0 of them cached: Anthropic's usage reports them apart
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (3, 0)
    [sent] = stack.bodies(CHAT)
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
    ]
    assert (sent["model"], sent["max_tokens"]) == ("mock-chat", 50)


async def test_cross_protocol_streaming_and_tools_on_an_openai_deployment(stack: Stack) -> None:
    ask = [{"role": "user", "content": 'use calculator {"expression": "6*7"}'}]
    async with stack.api.messages.stream(
        model="local",
        max_tokens=50,
        messages=ask,  # type: ignore[arg-type]
        tools=[CALCULATOR],  # type: ignore[list-item]
    ) as stream:
        first = await stream.get_final_message()
    [call] = [b for b in first.content if b.type == "tool_use"]
    assert (call.name, call.input, first.stop_reason) == ("calculator", {"expression": "6*7"}, "tool_use")
    assert call.id == "call_000001"
    follow = [
        *ask,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "42"}]},
    ]
    async with stack.api.messages.stream(
        model="local",
        max_tokens=50,
        messages=follow,  # type: ignore[arg-type]
        tools=[CALCULATOR],  # type: ignore[list-item]
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
    assert text == "Tool calculator returned: 42"
    sent = stack.bodies(CHAT)[-1]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_000001" and sent[2]["tool_call_id"] == "call_000001"


async def test_count_tokens_upstream_on_anthropic_and_estimated_elsewhere(stack: Stack) -> None:
    counted = await stack.api.messages.with_raw_response.count_tokens(model="claude", messages=HI)  # type: ignore[arg-type]
    assert counted.headers["x-switchboard-token-count"] == "upstream"
    assert (await counted.parse()).input_tokens == 1
    [sent] = stack.bodies("/v1/messages/count_tokens")
    assert sent == {"model": "claude-mock", "messages": HI}
    estimated = await stack.api.messages.with_raw_response.count_tokens(model="local", messages=HI)  # type: ignore[arg-type]
    assert estimated.headers["x-switchboard-token-count"] == "estimate"


async def test_usage_of_passed_through_calls_is_recorded_with_cache_parts(stack: Stack) -> None:
    long = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    message = await stack.api.messages.create(
        model="claude", max_tokens=50, messages=[{"role": "user", "content": long}]
    )
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (
        10,
        4,
        2,
    )
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        rows = (await http.get("/v1/usage", headers=auth())).json()["data"]
    assert [
        (r["provider"], r["model"], r["requests"], r["input_tokens"], r["cached_tokens"]) for r in rows
    ] == [
        ("claude", "claude-mock", 1, 16, 4)  # the neutral input includes the cache parts
    ]


async def test_a_failing_deployment_falls_back_to_another_protocol(stack: Stack) -> None:
    message = await stack.api.messages.create(model="both", max_tokens=50, messages=HI)  # type: ignore[arg-type]
    assert message.content[0].text == "Mock answer to: hello"  # type: ignore[union-attr]
    assert [r.status for r in stack.mock.requests_to(MESSAGES)] == [500]
    async with stack.api.messages.stream(model="both", max_tokens=50, messages=HI) as stream:  # type: ignore[arg-type]
        assert "".join([p async for p in stream.text_stream]) == "Mock answer to: hello"


async def test_upstream_errors_reach_the_client_in_its_own_exceptions(stack: Stack) -> None:
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        await stack.api.messages.create(model="claude/fault-529", max_tokens=9, messages=HI)  # type: ignore[arg-type]
    assert overloaded.value.status_code == 529 and overloaded.value.response.headers["retry-after"] == "1"
    with pytest.raises(anthropic.ServiceUnavailableError) as failed:
        await stack.api.messages.create(model="claude/fault-500", max_tokens=9, messages=HI)  # type: ignore[arg-type]
    assert failed.value.status_code == 503
    assert "Internal server error (mock)" not in str(failed.value.body)
    with pytest.raises(anthropic.BadRequestError) as too_long:
        await stack.api.messages.create(model="claude/fault-400-context", max_tokens=9, messages=HI)  # type: ignore[arg-type]
    assert "context window" in too_long.value.message
    with pytest.raises(anthropic.InternalServerError) as refused:
        await stack.api.messages.create(model="claude/fault-401", max_tokens=9, messages=HI)  # type: ignore[arg-type]
    assert refused.value.status_code == 502  # the operator's key, not the client's: not retryable
    assert UPSTREAM_KEY not in str(refused.value.body) and KEY_A not in str(refused.value.body)


async def test_a_stream_that_fails_after_its_first_token_ends_with_one_error_event(stack: Stack) -> None:
    received: list[str] = []

    async def read() -> None:
        async with stack.api.messages.stream(
            model="claude/fault-drop",
            max_tokens=50,
            messages=[{"role": "user", "content": "tell me a long story"}],
        ) as stream:
            async for piece in stream.text_stream:
                received.append(piece)

    with pytest.raises(anthropic.APIStatusError) as failed:
        await read()
    assert "".join(received) == "Mock answer "
    assert failed.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert "lost" in failed.value.body["error"]["message"]  # type: ignore[index]
