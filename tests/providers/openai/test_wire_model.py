"""``OpenAIModel`` against the in-process mock upstream, in both API modes: what a caller gets back and
what the upstream received."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from contracts.errors import ProviderUnavailable
from contracts.models import (
    ImagePart,
    ModelRequest,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    ResponseFormat,
    SystemPrompt,
    TextPart,
    ToolReturn,
    UserPrompt,
)
from contracts.ports import LanguageModel
from contracts.starts import ON_UPSTREAM_WAIT
from ops.mock_upstream import MockUpstream
from tests.providers.openai.wire_support import LOOKUP, MODES, PATHS, ask, collect, model_on

pytestmark = pytest.mark.parametrize("api_mode", MODES)


async def test_complete_answers_text_with_usage_model_and_id(mock: MockUpstream, api_mode: str) -> None:
    async with model_on(mock, api_mode) as model:
        port: LanguageModel = model
        assert isinstance(port, LanguageModel) and port.name == "openai"
        answer = await port.complete(ask("hello there", model="mock-7"))
    assert answer.text == "Mock answer to: hello there"
    assert (answer.finish_reason, answer.provider, answer.model) == ("stop", "openai", "mock-7")
    assert answer.response_id and answer.response_id.endswith("000001")
    # The mock's rule: input = 2 words, output = 5 words, cached = input // 4, reasoning = output // 2.
    usage = answer.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (2, 5, 7)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (0, 2)


async def test_cached_tokens_are_reported(mock: MockUpstream, api_mode: str) -> None:
    request = ModelRequest(
        messages=(SystemPrompt(text="one two three four five"), UserPrompt.of("six seven"))
    )
    async with model_on(mock, api_mode) as model:
        answer = await model.complete(request)
        _, streamed = await collect(model, request)
    assert answer.usage.input_tokens == 7 and answer.usage.cached_tokens == 1
    assert streamed.usage == answer.usage


async def test_stream_yields_text_deltas_then_done_with_the_whole_answer(
    mock: MockUpstream, api_mode: str
) -> None:
    async with model_on(mock, api_mode) as model:
        events, answer = await collect(model, ask("stream me please"))
    deltas = [e.delta for e in events if isinstance(e, ModelTextDelta)]
    assert len(deltas) == 6 and "".join(deltas) == answer.text == "Mock answer to: stream me please"
    assert answer.usage.output_tokens == 6 and answer.usage.reasoning_tokens == 3
    assert answer.model == "gpt-4.1-mini" and answer.provider == "openai"
    record = mock.requests_to(PATHS[api_mode])[-1]
    if api_mode == "chat_completions":
        assert record.body["stream_options"] == {"include_usage": True}
    assert record.completed and not record.closed_early


async def test_tool_call_complete_and_streamed_keep_the_upstream_call_id(
    mock: MockUpstream, api_mode: str
) -> None:
    request = ask('use lookup {"query": "weather in Oslo"}', tools=(LOOKUP,))
    async with model_on(mock, api_mode) as model:
        answer = await model.complete(request)
        events, streamed = await collect(model, request)
    [call] = answer.tool_calls
    assert (call.call_id, call.name, call.arguments) == (
        "call_000001",
        "lookup",
        {"query": "weather in Oslo"},
    )
    assert answer.finish_reason == "tool_calls" and answer.text == ""
    start, *deltas = events
    assert start == ModelToolCallStart(index=0, call_id="call_000002", name="lookup")
    assert len(deltas) == 4 and all(isinstance(d, ModelToolCallDelta) and d.index == 0 for d in deltas)
    assert json.loads("".join(d.arguments for d in deltas if isinstance(d, ModelToolCallDelta))) == {
        "query": "weather in Oslo"
    }
    assert streamed.tool_calls[0].call_id == "call_000002" and streamed.finish_reason == "tool_calls"


async def test_tool_return_is_answered_on_the_next_call(mock: MockUpstream, api_mode: str) -> None:
    first = ask("use lookup", tools=(LOOKUP,))
    async with model_on(mock, api_mode) as model:
        called = await model.complete(first)
        [call] = called.tool_calls
        history = (
            *first.messages,
            called.as_message(),
            ToolReturn(call_id=call.call_id, name="lookup", output="sunny, 21 C"),
        )
        answer = await model.complete(ModelRequest(messages=history, tools=(LOOKUP,)))
        _, streamed = await collect(model, ModelRequest(messages=history, tools=(LOOKUP,)))
    assert answer.text == streamed.text == "Tool lookup returned: sunny, 21 C"
    body = mock.requests_to(PATHS[api_mode])[1].body
    if api_mode == "chat_completions":
        assistant, tool = body["messages"][1:]
        assert assistant["tool_calls"][0]["id"] == tool["tool_call_id"] == call.call_id
        assert assistant["content"] is None and tool["content"] == "sunny, 21 C"
    else:
        function_call, output = body["input"][1:]
        assert function_call["type"] == "function_call" and output["type"] == "function_call_output"
        assert function_call["call_id"] == output["call_id"] == call.call_id
        assert json.loads(function_call["arguments"]) == call.arguments


async def test_structured_output_follows_the_schema(mock: MockUpstream, api_mode: str) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["city", "count"],
        "additionalProperties": False,
    }
    wanted = ResponseFormat(type="json_schema", name="facts", schema=schema, strict=True)
    request = ask("Oslo has two museums", response_format=wanted)
    async with model_on(mock, api_mode) as model:
        answer = await model.complete(request)
        _, streamed = await collect(model, request)
    assert json.loads(answer.text) == json.loads(streamed.text) == {"city": "mock city", "count": 4}
    body = mock.requests_to(PATHS[api_mode])[0].body
    if api_mode == "chat_completions":
        sent = body["response_format"]
        assert sent == {
            "type": "json_schema",
            "json_schema": {"name": "facts", "schema": schema, "strict": True},
        }
    else:
        assert body["text"] == {
            "format": {"type": "json_schema", "name": "facts", "schema": schema, "strict": True}
        }


async def test_images_reach_the_upstream_as_its_image_parts(mock: MockUpstream, api_mode: str) -> None:
    prompt = UserPrompt(
        content=(
            TextPart(text="what is this"),
            ImagePart(url="https://example.test/cat.png", detail="low"),
            ImagePart(url="data:image/png;base64,iVBORw0KGgo="),
        )
    )
    async with model_on(mock, api_mode) as model:
        answer = await model.complete(ModelRequest(messages=(prompt,)))
    assert answer.text == "Mock answer to: what is this"
    body = mock.requests_to(PATHS[api_mode])[0].body
    if api_mode == "chat_completions":
        assert body["messages"][0]["content"] == [
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": "https://example.test/cat.png", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]
    else:
        assert body["input"][0]["content"] == [
            {"type": "input_text", "text": "what is this"},
            {"type": "input_image", "image_url": "https://example.test/cat.png", "detail": "low"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
        ]


async def test_extras_are_merged_at_the_top_level_and_win(mock: MockUpstream, api_mode: str) -> None:
    extras = {"temperature": 0.1, "service_tier": "flex", "logit_bias": {"50256": -100}, "stream": False}
    request = ask(
        "hi", temperature=0.9, top_p=0.5, extras={"openai.chat": extras, "openai.responses": extras}
    )
    async with model_on(mock, api_mode) as model:
        await model.complete(request)
        await collect(model, request)
    plain, streamed = (r.body for r in mock.requests_to(PATHS[api_mode]))
    for body in (plain, streamed):
        assert body["temperature"] == 0.1 and body["top_p"] == 0.5
        assert body["service_tier"] == "flex" and body["logit_bias"] == {"50256": -100}
    assert "stream" not in plain and streamed["stream"] is True


async def test_calls_say_they_come_from_switchboard_with_the_key_only_when_set(
    mock: MockUpstream, api_mode: str
) -> None:
    async with model_on(mock, api_mode) as model:
        await model.complete(ask("hi"))
    async with model_on(mock, api_mode, api_key=None) as keyless:
        await keyless.complete(ask("hi"))
        health = await keyless.ping()
    with_key, without_key, ping = mock.requests
    for record in (with_key, without_key, ping):
        assert record.headers["user-agent"].startswith("switchboard/")
        assert "openai" not in record.headers["user-agent"].lower()
        assert not any(h.startswith("x-stainless") for h in record.headers)
    assert with_key.credentials and not without_key.credentials
    assert with_key.headers["content-type"] == "application/json"
    assert health.ok and ping.path == "/v1/models"


async def test_closing_the_stream_closes_the_upstream_response(mock: MockUpstream, api_mode: str) -> None:
    async with model_on(mock, api_mode, headers={"x-mock-token-delay-ms": "200"}) as model:
        stream = model.stream(ask("a long answer with many words to come"))
        first = await anext(stream)
        assert isinstance(first, ModelTextDelta)
        await stream.aclose()
        record = mock.requests_to(PATHS[api_mode])[-1]
        await _until(lambda: record.closed_early)
    assert not record.completed


async def test_cancelling_the_consumer_closes_the_upstream_response(
    mock: MockUpstream, api_mode: str
) -> None:
    seen: list[object] = []

    async def consume() -> None:
        async for event in model.stream(ask("a long answer with many words to come")):
            seen.append(event)

    async with model_on(mock, api_mode, headers={"x-mock-token-delay-ms": "200"}) as model:
        task = asyncio.create_task(consume())
        await _until(lambda: len(seen) >= 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        record = mock.requests_to(PATHS[api_mode])[-1]
        await _until(lambda: record.closed_early)
    assert not record.completed and len(seen) < 5


async def test_connections_are_kept_alive_between_calls(mock: MockUpstream, api_mode: str) -> None:
    async with model_on(mock, api_mode) as model:
        await model.complete(ask("one"))
        await collect(model, ask("two"))
        await model.complete(ask("three"))
        await model.ping()
        with pytest.raises(ProviderUnavailable):
            await collect(model, ask("four", model="fault-429"))
        with pytest.raises(ProviderUnavailable):
            await model.complete(ask("five", model="fault-500"))
        await model.complete(ask("six"))
    # One connection served every call: finished streams and error answers give it back to the pool.
    assert len({r.client_port for r in mock.requests}) == 1
    assert len(mock.requests) == 7


async def _until(condition: Callable[[], bool], within_s: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_aclose_is_safe_before_any_call_and_twice(mock: MockUpstream, api_mode: str) -> None:
    async with model_on(mock, api_mode) as unused:
        await unused.aclose()
    async with model_on(mock, api_mode) as model:
        await model.complete(ask("hi"))
        await model.aclose()
        await model.aclose()
        assert (await model.complete(ask("again"))).text == "Mock answer to: again"  # a new pool on demand


async def test_a_stream_says_its_setup_is_over_when_the_request_goes_upstream(
    mock: MockUpstream, api_mode: str
) -> None:
    """The start gate's signal (contracts/starts.py): once, before waiting on the upstream, never for a
    JSON call."""
    said: list[str] = []
    token = ON_UPSTREAM_WAIT.set(lambda: said.append("sent"))
    try:
        async with model_on(mock, api_mode) as model:
            await model.complete(ask("no stream"))
            assert said == []
            events = model.stream(ask("a stream"))
            await anext(events)
            assert said == ["sent"]
            await events.aclose()
    finally:
        ON_UPSTREAM_WAIT.reset(token)
