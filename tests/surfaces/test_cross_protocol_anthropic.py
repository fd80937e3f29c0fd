"""Across protocols with the Anthropic kind on the mock upstream: the ``openai`` client calling
``/v1/chat/completions`` routed to an Anthropic deployment (the neutral path: text, streaming, tools,
structured output, foreign tool-call ids), agents on the Anthropic kind through ``/v1/chat`` (the shared
tool loop: tools, handoffs, structured output, streaming), and one conversation moving OpenAI ->
Anthropic -> OpenAI with tool calls in it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from ops.mock_upstream.server import MockUpstream, running_mock
from tests.support.app import KEY_A, REPO, auth, live_server, make_settings
from tests.support.sse import events, parse_frames

MESSAGES, CHAT, RESPONSES = "/v1/messages", "/v1/chat/completions", "/v1/responses"
AGENTS = """
default = "assistant"

[[agents]]
key = "assistant"
description = "Uses tools."
instructions = "You are the cross-protocol assistant."
tools = ["calculator"]
handoffs = ["concise"]

[[agents]]
key = "concise"
description = "Short answers."
instructions = "Answer in one sentence."

[[agents]]
key = "planner"
description = "Plans trips as JSON."
instructions = "Answer with a plan."
tools = ["calculator"]
output_schema = {type = "object", properties = {city = {type = "string"}, days = {type = "integer"}}}
"""
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@dataclass
class Stack:
    base_url: str
    mock: MockUpstream
    http: httpx.AsyncClient
    openai: openai.AsyncOpenAI

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.mock.requests_to(path)]

    async def chat(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/v1/chat", json=body, headers=auth())
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    agents = tmp_path / "agents.toml"
    agents.write_text(AGENTS)
    async with running_mock() as mock:
        env = {
            "SWITCHBOARD_AGENTS_FILE": str(agents),
            "SWITCHBOARD_GUARDRAILS_FILE": str(REPO / "config/guardrails.toml"),
            "SWITCHBOARD_PROVIDERS": "claude,local,resp",
            "SWITCHBOARD_PROVIDER_CLAUDE_KIND": "anthropic",
            "SWITCHBOARD_PROVIDER_CLAUDE_BASE_URL": mock.url,
            "SWITCHBOARD_PROVIDER_CLAUDE_MODEL": "claude-mock",
            "SWITCHBOARD_PROVIDER_LOCAL_KIND": "openai",
            "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_LOCAL_API_MODE": "chat_completions",
            "SWITCHBOARD_PROVIDER_LOCAL_MODEL": "mock-chat",
            "SWITCHBOARD_PROVIDER_RESP_KIND": "openai",
            "SWITCHBOARD_PROVIDER_RESP_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_RESP_MODEL": "mock-resp",
            "SWITCHBOARD_ROUTING_RETRIES": "0",
        }
        async with live_server(make_settings(tmp_path, **env)) as url:
            async with (
                httpx.AsyncClient(base_url=url, timeout=10) as http,
                openai.AsyncOpenAI(api_key=KEY_A, base_url=f"{url}/v1", max_retries=0) as client,
            ):
                yield Stack(url, mock, http, client)


# -- the openai client on an Anthropic deployment --------------------------------------------------------


async def test_the_openai_client_gets_an_answer_from_the_anthropic_kind(stack: Stack) -> None:
    answer = await stack.openai.chat.completions.create(
        model="claude",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
        max_tokens=64,
    )
    assert answer.choices[0].message.content == "Mock answer to: hello"
    assert (answer.model, answer.choices[0].finish_reason) == ("claude-mock", "stop")
    [sent] = stack.bodies(MESSAGES)
    assert (sent["system"], sent["max_tokens"], sent["messages"]) == (
        "Be brief.",
        64,
        [{"role": "user", "content": "hello"}],
    )
    assert stack.bodies(CHAT) == []


async def test_the_openai_client_streams_from_the_anthropic_kind_with_usage(stack: Stack) -> None:
    stream = await stack.openai.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "Mock answer to: one two three"
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 3


async def test_openai_tools_and_foreign_call_ids_on_the_anthropic_kind(stack: Stack) -> None:
    foreign = "call.weird:7/x"
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "weather please"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": foreign, "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": foreign, "content": "sunny"},
        {"role": "user", "content": 'now use weather {"city": "Oslo"}'},
    ]
    stream = await stack.openai.chat.completions.create(
        model="claude",
        messages=messages,
        tools=[WEATHER],
        stream=True,  # type: ignore[list-item]
    )
    calls: dict[int, dict[str, str]] = {}
    async for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] = delta.id or entry["id"]
            if delta.function is not None:
                entry["name"] += delta.function.name or ""
                entry["arguments"] += delta.function.arguments or ""
    assert calls[0]["name"] == "weather" and json.loads(calls[0]["arguments"]) == {"city": "Oslo"}
    assert calls[0]["id"].startswith("toolu_")
    [sent] = stack.bodies(MESSAGES)
    wire_id = sent["messages"][1]["content"][0]["id"]
    assert wire_id != foreign and all(c.isalnum() or c in "_-" for c in wire_id)
    assert sent["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": wire_id,
        "content": "sunny",
    }
    # and back on OpenAI, the original id is what the client sent, untouched
    await stack.openai.chat.completions.create(model="local", messages=messages, tools=[WEATHER])  # type: ignore[list-item]
    assert stack.bodies(CHAT)[0]["messages"][1]["tool_calls"][0]["id"] == foreign


async def test_openai_structured_output_on_the_anthropic_kind(stack: Stack) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}
    answer = await stack.openai.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "plan a trip"}],
        response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}},
    )
    assert json.loads(answer.choices[0].message.content or "") == {"city": "mock city", "days": 3}
    assert answer.choices[0].finish_reason == "stop"
    assert stack.bodies(MESSAGES)[0]["tool_choice"] == {"type": "tool", "name": "plan"}


# -- agents on the Anthropic kind (the shared tool loop) -------------------------------------------------


async def test_an_agent_uses_tools_on_the_anthropic_kind(stack: Stack) -> None:
    answer = await stack.chat(message='use calculator {"expression": "6 * 7"}', provider="claude")
    assert answer["output"] == "Tool calculator returned: 42"
    assert [i["type"] for i in answer["items"]] == [
        "user_message",
        "tool_call",
        "tool_result",
        "assistant_message",
    ]
    first, second = stack.bodies(MESSAGES)
    assert first["system"] == "You are the cross-protocol assistant."
    assert [t["name"] for t in first["tools"]] == ["calculator", "transfer_to_concise"]
    assert second["messages"][-1]["content"][0]["content"] == "42"


async def test_a_handoff_is_a_multi_step_turn_on_the_anthropic_kind(stack: Stack) -> None:
    answer = await stack.chat(message="please transfer_to_concise and answer", provider="claude")
    assert answer["agent"] == "concise"
    bodies = stack.bodies(MESSAGES)
    assert len(bodies) == 2 and bodies[1]["system"] == "Answer in one sentence."


async def test_an_agent_with_an_output_schema_answers_json_after_a_tool(stack: Stack) -> None:
    answer = await stack.chat(
        message='use calculator {"expression": "2 + 3"} then plan', agent="planner", provider="claude"
    )
    assert json.loads(answer["output"])["city"] == "mock city"
    first, second = stack.bodies(MESSAGES)
    assert first["tool_choice"] == {"type": "any"} and second["tool_choice"] == {"type": "any"}
    assert [t["name"] for t in second["tools"]] == ["calculator", "planner_output"]


async def test_an_agent_streams_on_the_anthropic_kind(stack: Stack) -> None:
    response = await stack.http.post(
        "/v1/chat/stream",
        json={"message": 'use calculator {"expression": "1 + 1"}', "provider": "claude"},
        headers=auth(),
    )
    frames = events(parse_frames(response.text))
    kinds = [f.event for f in frames]
    assert kinds[0] == "run.started" and kinds[-1] == "run.completed"
    assert "tool.called" in kinds and "tool.output" in kinds
    text = "".join(f.data["delta"] for f in frames if f.event == "text.delta")
    assert text == "Tool calculator returned: 2"


async def test_a_conversation_moves_openai_anthropic_openai_with_tool_calls(stack: Stack) -> None:
    first = await stack.chat(message='use calculator {"expression": "1 + 1"}', provider="local")
    conversation = first["conversation_id"]
    second = await stack.chat(
        message='use calculator {"expression": "2 + 2"}', provider="claude", conversation_id=conversation
    )
    third = await stack.chat(
        message='use calculator {"expression": "3 + 3"}', provider="resp", conversation_id=conversation
    )
    assert [first["output"], second["output"], third["output"]] == [
        "Tool calculator returned: 2",
        "Tool calculator returned: 4",
        "Tool calculator returned: 6",
    ]
    openai_id = first["items"][1]["call_id"]
    anthropic_id = second["items"][1]["call_id"]
    assert openai_id.startswith("call_") and anthropic_id.startswith("toolu_")
    on_anthropic = stack.bodies(MESSAGES)[0]["messages"]
    assert on_anthropic[1]["content"][0] == {
        "type": "tool_use",
        "id": openai_id,
        "name": "calculator",
        "input": {"expression": "1 + 1"},
    }
    assert on_anthropic[2]["content"][0]["tool_use_id"] == openai_id
    on_responses = stack.bodies(RESPONSES)[0]["input"]
    calls = [i for i in on_responses if i.get("type") == "function_call"]
    outputs = [i for i in on_responses if i.get("type") == "function_call_output"]
    assert [c["call_id"] for c in calls] == [openai_id, anthropic_id]
    assert [o["call_id"] for o in outputs] == [openai_id, anthropic_id]
