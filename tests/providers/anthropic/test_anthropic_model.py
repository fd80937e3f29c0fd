"""``AnthropicModel`` against the mock upstream's ``/v1/messages``: what is sent (headers, system, blocks,
tools, forced output tool, ids, extras), and what comes back (text, tool calls, structured output, usage
with cache parts, opaque thinking replayed), whole and streamed."""

from __future__ import annotations

import json
from typing import Any

from adapters.providers.anthropic.wire import messages
from contracts.call_ids import restricted
from contracts.models import (
    PROTOCOL_ANTHROPIC_MESSAGES,
    AssistantReply,
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
    WireCall,
)
from contracts.tools import ToolCall
from ops.mock_upstream import MockUpstream
from tests.providers.anthropic.support import CALCULATOR, MESSAGES, ask, collect, model_on

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}


def sent(mock: MockUpstream, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = mock.requests_to(MESSAGES)[index].body
    return body


async def test_a_text_answer_and_what_was_sent(mock: MockUpstream) -> None:
    async with model_on(mock) as model:
        request = ModelRequest(
            messages=(SystemPrompt(text="Be brief."), UserPrompt.of("hello there")),
            temperature=0.2,
            stop=("END",),
            user="user-7",
        )
        response = await model.complete(request)
    assert (response.text, response.finish_reason) == ("Mock answer to: hello there", "stop")
    assert (response.provider, response.model, response.response_id) == (
        "anthropic",
        "claude-mock",
        "msg_000001",
    )
    [record] = mock.requests_to(MESSAGES)
    assert record.body == {
        "model": "claude-mock",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hello there"}],
        "system": "Be brief.",
        "temperature": 0.2,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-7"},
    }
    assert record.headers["user-agent"].startswith("switchboard/")
    assert record.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in record.headers
    assert record.credentials and "x-api-key" not in record.headers  # sent, never recorded


async def test_betas_and_the_request_max_tokens_are_sent(mock: MockUpstream) -> None:
    async with model_on(mock, betas="feature-a, feature-b", max_tokens=100) as model:
        await model.complete(ask("hi", max_tokens=7))
        await model.complete(ask("hi"))
    first, second = mock.requests_to(MESSAGES)
    assert first.headers["anthropic-beta"] == "feature-a,feature-b"
    assert (first.body["max_tokens"], second.body["max_tokens"]) == (7, 100)


async def test_usage_adds_the_cache_parts_to_the_input(mock: MockUpstream) -> None:
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    request = ModelRequest(messages=(SystemPrompt(text="a b c d e f g h"), UserPrompt.of(text)))
    async with model_on(mock) as model:
        whole = await model.complete(request)
        _events, streamed = await collect(model, request)
    # the mock reports 24 input words as input_tokens 15 + cache read 6 + cache creation 3
    for usage in (whole.usage, streamed.usage):
        assert (usage.input_tokens, usage.cached_tokens, usage.cache_write_tokens) == (24, 6, 3)
        assert usage.total_tokens == usage.input_tokens + usage.output_tokens


async def test_a_streamed_text_answer(mock: MockUpstream) -> None:
    async with model_on(mock) as model:
        events, response = await collect(model, ask("one two three"))
    assert (
        "".join(e.delta for e in events if isinstance(e, ModelTextDelta)) == "Mock answer to: one two three"
    )
    assert response.text == "Mock answer to: one two three"
    assert response.usage.output_tokens == 6
    assert sent(mock)["stream"] is True


async def test_tools_a_call_and_its_result(mock: MockUpstream) -> None:
    async with model_on(mock) as model:
        first = await model.complete(ask('use calculator {"expression": "2+2"}', tools=(CALCULATOR,)))
        [call] = first.tool_calls
        assert (call.name, call.arguments, first.finish_reason) == (
            "calculator",
            {"expression": "2+2"},
            "tool_calls",
        )
        history = (
            UserPrompt.of('use calculator {"expression": "2+2"}'),
            first.as_message(),
            ToolReturn(call_id=call.call_id, name="calculator", output="4", is_error=True),
        )
        second = await model.complete(ModelRequest(messages=history, tools=(CALCULATOR,)))
    assert second.text == "Tool calculator returned: 4"
    body = sent(mock)
    assert body["tools"] == [
        {"name": "calculator", "input_schema": CALCULATOR.parameters, "description": "Evaluate arithmetic."}
    ]
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": call.call_id, "name": "calculator", "input": {"expression": "2+2"}}
        ],
    }
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": call.call_id, "content": "4", "is_error": True}
    ]


async def test_a_streamed_tool_call(mock: MockUpstream) -> None:
    async with model_on(mock) as model:
        events, response = await collect(
            model, ask('use calculator {"expression": "6*7"}', tools=(CALCULATOR,))
        )
    starts = [e for e in events if isinstance(e, ModelToolCallStart)]
    deltas = "".join(e.arguments for e in events if isinstance(e, ModelToolCallDelta))
    assert [(s.index, s.name) for s in starts] == [(0, "calculator")]
    assert json.loads(deltas) == {"expression": "6*7"}
    assert response.tool_calls[0].arguments == {"expression": "6*7"}
    assert response.finish_reason == "tool_calls"


async def test_tool_choice_and_parallel_calls_are_mapped(mock: MockUpstream) -> None:
    from contracts.models import ToolChoice

    async with model_on(mock) as model:
        for choice in (
            ToolChoice(mode="none"),
            ToolChoice(mode="required"),
            ToolChoice(mode="tool", name="calculator"),
        ):
            await model.complete(
                ask("hi", tools=(CALCULATOR,), tool_choice=choice, parallel_tool_calls=False)
            )
    choices = [r.body["tool_choice"] for r in mock.requests_to(MESSAGES)]
    assert choices == [
        {"type": "none"},
        {"type": "any", "disable_parallel_tool_use": True},
        {"type": "tool", "name": "calculator", "disable_parallel_tool_use": True},
    ]


async def test_structured_output_goes_through_a_forced_tool(mock: MockUpstream) -> None:
    request = ask(
        "plan a trip", response_format=ResponseFormat(type="json_schema", name="trip plan", schema=SCHEMA)
    )
    async with model_on(mock) as model:
        whole = await model.complete(request)
        events, streamed = await collect(model, request)
    assert json.loads(whole.text) == {"city": "mock city", "days": 3}
    assert (whole.tool_calls, whole.finish_reason) == ((), "stop")
    assert "".join(e.delta for e in events if isinstance(e, ModelTextDelta)) == streamed.text
    assert json.loads(streamed.text) == {"city": "mock city", "days": 3}
    body = sent(mock)
    assert body["tools"][0]["name"] == "trip_plan" and body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": "trip_plan"}


async def test_structured_output_with_tools_lets_the_model_call_them_first(mock: MockUpstream) -> None:
    rf = ResponseFormat(type="json_schema", name="answer", schema=SCHEMA)
    async with model_on(mock) as model:
        first = await model.complete(
            ask('use calculator {"expression": "1+1"}', tools=(CALCULATOR,), response_format=rf)
        )
        [call] = first.tool_calls
        history = (
            UserPrompt.of('use calculator {"expression": "1+1"}'),
            first.as_message(),
            ToolReturn(call_id=call.call_id, name="calculator", output="2"),
        )
        final = await model.complete(ModelRequest(messages=history, tools=(CALCULATOR,), response_format=rf))
    assert json.loads(final.text)["city"] == "mock city" and final.tool_calls == ()
    assert sent(mock)["tool_choice"] == {"type": "any"}
    assert [t["name"] for t in sent(mock)["tools"]] == ["calculator", "answer"]


async def test_a_non_object_schema_is_wrapped_and_unwrapped(mock: MockUpstream) -> None:
    rf = ResponseFormat(
        type="json_schema", name="tags", schema={"type": "array", "items": {"type": "string"}}
    )
    async with model_on(mock) as model:
        whole = await model.complete(ask("tags please", response_format=rf))
        events, streamed = await collect(model, ask("tags please", response_format=rf))
    assert whole.text == "[]" == streamed.text
    assert "".join(e.delta for e in events if isinstance(e, ModelTextDelta)) == "[]"
    assert sent(mock)["tools"][0]["input_schema"]["properties"]["value"]["type"] == "array"


async def test_thinking_blocks_come_back_opaque_and_are_replayed_verbatim(mock: MockUpstream) -> None:
    extras = {
        PROTOCOL_ANTHROPIC_MESSAGES: {"thinking": {"type": "enabled", "budget_tokens": 1024}, "top_k": 5}
    }
    request = ask('use calculator {"expression": "3*3"}', tools=(CALCULATOR,), extras=extras)
    async with model_on(mock) as model:
        whole = await model.complete(request)
        _events, streamed = await collect(model, request)
        for response in (whole, streamed):
            [part] = response.opaque
            assert part.protocol == PROTOCOL_ANTHROPIC_MESSAGES
            assert part.data["type"] == "thinking" and part.data["thinking"] == "mock reasoning"
            assert part.data["signature"].startswith("sig-")
        [call] = streamed.tool_calls
        history = (
            request.messages[0],
            streamed.as_message(),
            ToolReturn(call_id=call.call_id, name="calculator", output="9"),
        )
        await model.complete(ModelRequest(messages=history, tools=(CALCULATOR,), extras=extras))
    body = sent(mock)
    assert (body["thinking"], body["top_k"]) == ({"type": "enabled", "budget_tokens": 1024}, 5)
    assert body["messages"][1]["content"][0] == streamed.opaque[0].data
    assert body["messages"][1]["content"][1]["type"] == "tool_use"


async def test_other_protocols_opaque_parts_are_dropped(mock: MockUpstream) -> None:
    from contracts.models import OpaquePart

    reply = AssistantReply(
        text="earlier", opaque=(OpaquePart(protocol="openai.responses", data={"type": "reasoning"}),)
    )
    async with model_on(mock) as model:
        await model.complete(ModelRequest(messages=(UserPrompt.of("a"), reply, UserPrompt.of("b"))))
    assert sent(mock)["messages"][1] == {"role": "assistant", "content": "earlier"}


async def test_foreign_tool_call_ids_are_restricted_and_mapped_back() -> None:
    foreign = "fc:resp/42.7"
    reply = AssistantReply(tool_calls=(ToolCall(call_id=foreign, name="calculator", arguments={}),))
    request = ModelRequest(
        messages=(UserPrompt.of("x"), reply, ToolReturn(call_id=foreign, name="calculator", output="1"))
    )
    body = json.loads(messages.encode_request(request, "m", stream=False, max_tokens=10)[0])
    wire_id = body["messages"][1]["content"][0]["id"]
    assert wire_id == restricted(foreign) and wire_id.startswith("sbx_")
    assert all(c.isalnum() or c in "_-" for c in wire_id)
    assert body["messages"][2]["content"][0]["tool_use_id"] == wire_id
    answer = {
        "type": "message",
        "content": [{"type": "tool_use", "id": wire_id, "name": "calculator", "input": {}}],
        "stop_reason": "tool_use",
    }
    decoded = messages.decode_answer("anthropic", json.dumps(answer).encode())
    assert decoded.tool_calls[0].call_id == foreign


async def test_images_and_consecutive_user_side_messages(mock: MockUpstream) -> None:
    images = UserPrompt(
        content=(
            TextPart(text="what is this?"),
            ImagePart(url="data:image/png;base64,iVBORw0KGgo="),
            ImagePart(url="https://example.test/cat.jpg"),
        )
    )
    async with model_on(mock) as model:
        await model.complete(ModelRequest(messages=(images, UserPrompt.of("and this?"))))
    [message] = sent(mock)["messages"]
    assert message["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.test/cat.jpg"}},
        {"type": "text", "text": "and this?"},
    ]


async def test_pass_through_relays_the_upstream_bytes_with_the_model_replaced(mock: MockUpstream) -> None:
    body = {
        "model": "client-model",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
        "vendor_x": 1,
    }
    async with model_on(mock) as model:
        assert model.speaks(PROTOCOL_ANTHROPIC_MESSAGES) and not model.speaks("openai.chat")
        answer = await model.forward(WireCall(protocol=PROTOCOL_ANTHROPIC_MESSAGES, body=body), "claude-x")
        frames = [
            f
            async for f in model.forward_stream(
                WireCall(protocol=PROTOCOL_ANTHROPIC_MESSAGES, body=body, stream=True), "claude-x"
            )
        ]
        counted = await model.count_tokens(
            WireCall(protocol=PROTOCOL_ANTHROPIC_MESSAGES, body=body), "claude-x"
        )
    assert json.loads(answer.body)["content"][0]["text"] == "Mock answer to: hi"
    assert answer.response.text == "Mock answer to: hi"
    relayed = b"".join(f.data for f in frames)
    assert relayed.startswith(b"event: message_start\ndata: ") and relayed.endswith(
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    assert b"event: ping" in relayed
    assert frames[-1].events[-1].response.text == "Mock answer to: hi"  # type: ignore[union-attr]
    whole, streamed = mock.requests_to(MESSAGES)
    assert (whole.body["model"], whole.body["vendor_x"], whole.body["stream"]) == ("claude-x", 1, False)
    assert streamed.body["stream"] is True
    assert counted == 1
    [count] = mock.requests_to("/v1/messages/count_tokens")
    assert count.body == {"model": "claude-x", "messages": body["messages"]}


async def test_a_passed_through_body_without_max_tokens_gets_the_default(mock: MockUpstream) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    async with model_on(mock, max_tokens=77) as model:
        await model.forward(WireCall(protocol=PROTOCOL_ANTHROPIC_MESSAGES, body=body), "claude-x")
    assert sent(mock)["max_tokens"] == 77


async def test_ping_lists_models_without_spending_tokens(mock: MockUpstream) -> None:
    async with model_on(mock) as model:
        health = await model.ping()
    assert health.ok
    assert [r.path for r in mock.requests] == ["/v1/models"]
    assert mock.requests[0].headers["anthropic-version"] == "2023-06-01"
