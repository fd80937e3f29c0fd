"""``POST /v1/chat/completions`` driven by the official ``openai`` client, on the offline provider."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from tests.support.app import KEY_A, KEY_NO_SCOPE, live_server, make_settings

CALCULATOR = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluate arithmetic.",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    },
}


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    async with live_server(make_settings(tmp_path)) as url:
        yield f"{url}/v1"


@pytest.fixture
async def api(base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key=KEY_A, base_url=base_url, max_retries=0) as opened:
        yield opened


def client(base_url: str, key: str = KEY_A) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0)


async def test_a_plain_completion(api: openai.AsyncOpenAI) -> None:
    answer = await api.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "hello there"}]
    )
    choice = answer.choices[0]
    assert choice.message.content == "You said: hello there"
    assert (choice.finish_reason, answer.model) == ("stop", "scripted-1")
    assert answer.usage is not None
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens > 0


async def test_a_streamed_completion_with_usage(api: openai.AsyncOpenAI) -> None:
    stream = await api.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5


async def test_without_include_usage_no_usage_chunk_is_sent(api: openai.AsyncOpenAI) -> None:
    stream = await api.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)


async def test_client_tools_are_called_by_the_model_and_answered_by_the_client(
    api: openai.AsyncOpenAI,
) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "what is 6 * 7?"}]
    first = await api.chat.completions.create(model="scripted", messages=messages, tools=[CALCULATOR])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "calculator",
        {"expression": "6 * 7"},
    )
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "42"},
    ]
    second = await api.chat.completions.create(model="scripted", messages=messages, tools=[CALCULATOR])
    assert second.choices[0].message.content == "The calculator says 42."


async def test_streamed_tool_call_deltas_assemble_in_the_client(api: openai.AsyncOpenAI) -> None:
    stream = await api.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "what is 2 + 2"}],
        tools=[CALCULATOR],
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] = delta.id or entry["id"]
            if delta.function is not None:
                entry["name"] += delta.function.name or ""
                entry["arguments"] += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert calls[0]["name"] == "calculator"
    assert json.loads(calls[0]["arguments"]) == {"expression": "2 + 2"}
    assert calls[0]["id"].startswith("call_")


async def test_errors_arrive_as_the_clients_own_exceptions(api: openai.AsyncOpenAI, base_url: str) -> None:
    async with client(base_url, key="not-a-key") as stranger, client(base_url, key=KEY_NO_SCOPE) as reader:
        with pytest.raises(openai.AuthenticationError) as unauthorized:
            await stranger.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "hi"}]
            )
        assert unauthorized.value.status_code == 401
        with pytest.raises(openai.PermissionDeniedError):
            await reader.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "hi"}]
            )
    with pytest.raises(openai.BadRequestError) as bad:
        await api.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "hi"}], n=3)
    assert bad.value.param == "n"
    assert bad.value.body is not None and "n: expected `int` <= 1" in str(bad.value.body)


async def test_a_structured_output_request_to_a_provider_without_it_is_a_clear_400(
    api: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        await api.chat.completions.create(
            model="scripted",
            messages=[{"role": "user", "content": "hi"}],
            response_format={"type": "json_object"},
        )
    assert bad.value.param == "model"
    assert "structured_output" in str(bad.value.body)


async def test_a_key_over_its_request_limit_gets_a_rate_limit_error_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SWITCHBOARD_RATE_LIMIT_RPM="2")
    async with live_server(settings) as url:
        async with openai.AsyncOpenAI(api_key=KEY_A, base_url=f"{url}/v1", max_retries=0) as limited:
            ask = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}
            first = await limited.chat.completions.with_raw_response.create(**ask)  # type: ignore[call-overload]
            assert first.headers["x-ratelimit-limit-requests"] == "2"
            assert first.headers["x-ratelimit-remaining-requests"] == "1"
            await limited.chat.completions.create(**ask)  # type: ignore[call-overload]
            with pytest.raises(openai.RateLimitError) as limited_out:
                await limited.chat.completions.create(**ask)  # type: ignore[call-overload]
    headers = limited_out.value.response.headers
    assert 0 < int(headers["retry-after"]) <= 60
    assert limited_out.value.code == "rate_limit_exceeded"
