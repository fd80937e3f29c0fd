"""The Responses codec: every ``ModelRequest`` field as the upstream receives it, reasoning items kept and
replayed, and answers of shapes the mock does not produce."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.providers.openai.wire import responses
from adapters.providers.openai.wire.responses_stream import ResponsesStreamDecoder
from contracts.errors import ProviderRejected, ProviderUnavailable
from contracts.models import (
    AssistantReply,
    ModelRequest,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    OpaquePart,
    ResponseFormat,
    SystemPrompt,
    ToolChoice,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall
from ops.mock_upstream import MockUpstream
from tests.providers.openai.wire_support import LOOKUP, ask, collect, model_on

REASONING = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque-bytes"}
HISTORY = (
    SystemPrompt(text="Be brief."),
    SystemPrompt(text="Answer in English."),
    UserPrompt.of("weather?"),
    AssistantReply(
        text="Let me look.",
        tool_calls=(ToolCall(call_id="call_a1", name="lookup", arguments={"query": "Oslo"}),),
        opaque=(
            OpaquePart(protocol="openai.responses", data=REASONING),
            OpaquePart(protocol="anthropic.messages", data={"type": "thinking", "signature": "x"}),
        ),
    ),
    ToolReturn(call_id="call_a1", name="lookup", output="sunny"),
    SystemPrompt(text="Now be cheerful."),
    UserPrompt.of("thanks"),
)


async def test_every_field_reaches_the_upstream(mock: MockUpstream) -> None:
    request = ModelRequest(
        messages=HISTORY,
        model="gpt-x",
        tools=(LOOKUP,),
        tool_choice=ToolChoice(mode="tool", name="lookup"),
        response_format=ResponseFormat(type="json_object"),
        temperature=0.2,
        top_p=0.9,
        max_tokens=64,
        seed=42,
        presence_penalty=0.1,
        frequency_penalty=0.3,
        parallel_tool_calls=False,
        user="user-7",
        metadata={"tenant": "t1"},
    )
    async with model_on(mock, "responses") as model:
        await model.complete(request)
    [record] = mock.requests
    assert record.body == {
        "model": "gpt-x",
        "input": [
            {"type": "message", "role": "user", "content": "weather?"},
            REASONING,
            {"type": "message", "role": "assistant", "content": "Let me look."},
            {
                "type": "function_call",
                "call_id": "call_a1",
                "name": "lookup",
                "arguments": '{"query":"Oslo"}',
            },
            {"type": "function_call_output", "call_id": "call_a1", "output": "sunny"},
            {"type": "message", "role": "system", "content": "Now be cheerful."},
            {"type": "message", "role": "user", "content": "thanks"},
        ],
        "instructions": "Be brief.\n\nAnswer in English.",
        "tools": [
            {
                "type": "function",
                "name": "lookup",
                "description": LOOKUP.description,
                "parameters": LOOKUP.parameters,
                "strict": False,
            }
        ],
        "tool_choice": {"type": "function", "name": "lookup"},
        "parallel_tool_calls": False,
        "text": {"format": {"type": "json_object"}},
        "temperature": 0.2,
        "top_p": 0.9,
        "max_output_tokens": 64,
        "user": "user-7",
        "metadata": {"tenant": "t1"},
    }


async def test_reasoning_items_come_back_opaque_and_are_replayed_verbatim(mock: MockUpstream) -> None:
    first = ask("use lookup", tools=(LOOKUP,), extras={"openai.responses": {"reasoning": {"effort": "low"}}})
    async with model_on(mock, "responses") as model:
        called = await model.complete(first)
        _, streamed = await collect(model, first)
        [item] = [part.data for part in called.opaque]
        history = (
            *first.messages,
            called.as_message(),
            ToolReturn(call_id="call_000001", name="lookup", output="ok"),
        )
        answer = await model.complete(ModelRequest(messages=history, tools=(LOOKUP,)))
    assert item == {
        "type": "reasoning",
        "id": "rs_000001",
        "summary": [{"type": "summary_text", "text": "mock reasoning"}],
        "encrypted_content": "enc-000001",
    }
    assert [p.protocol for p in called.opaque] == ["openai.responses"]
    assert streamed.opaque[0].data["id"] == "rs_000002"
    assert answer.text == "Tool lookup returned: ok"
    sent = mock.requests[-1].body["input"]
    assert sent[1] == item and [i["type"] for i in sent] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
    ]


async def test_the_chat_codec_drops_reasoning_items(mock: MockUpstream) -> None:
    reply = AssistantReply(text="hi", opaque=(OpaquePart(protocol="openai.responses", data=REASONING),))
    async with model_on(mock, "chat_completions") as model:
        await model.complete(ModelRequest(messages=(UserPrompt.of("a"), reply, UserPrompt.of("b"))))
    assert "rs_1" not in msgspec.json.encode(mock.requests[0].body).decode()


def _response(output: list[dict[str, Any]], **fields: Any) -> bytes:
    return msgspec.json.encode(
        {"id": "resp_1", "model": "m", "status": "completed", "output": output, **fields}
    )


MESSAGE = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "partial"}]}


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("max_output_tokens", "length"), ("content_filter", "content_filter"), (None, "length")],
)
def test_an_incomplete_answer_says_why_it_stopped(reason: str | None, finish: str) -> None:
    body = _response(
        [MESSAGE], status="incomplete", incomplete_details={"reason": reason} if reason else None
    )
    answer = responses.decode_answer("openai", body)
    assert (answer.text, answer.finish_reason) == ("partial", finish)


def test_unknown_output_items_are_skipped_and_refusals_are_text() -> None:
    odd = {
        "type": "web_search_call",
        "id": "ws",
        "name": {"not": "a string"},
        "content": 7,
        "status": "completed",
    }
    refusal = {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}
    answer = responses.decode_answer("openai", _response([odd, refusal]))
    assert (answer.text, answer.tool_calls, answer.opaque) == ("No.", (), ())


def test_a_failed_or_unfinished_response_raises() -> None:
    failed = _response([], status="failed", error={"code": "context_length_exceeded", "message": "secret"})
    with pytest.raises(ProviderRejected) as caught:
        responses.decode_answer("openai", failed)
    assert caught.value.failure == "context_too_long" and "secret" not in str(caught.value)
    with pytest.raises(ProviderUnavailable) as pending:
        responses.decode_answer("openai", _response([], status="in_progress"))
    assert pending.value.failure == "malformed"


def _event(kind: str, **fields: Any) -> tuple[str, bytes]:
    return kind, msgspec.json.encode({"type": kind, **fields})


def test_events_without_an_event_line_are_read_by_their_type() -> None:
    decoder = ResponsesStreamDecoder("local")
    events = [
        e
        for kind, data in (
            _event("response.created", response={"id": "r", "status": "in_progress"}),
            _event("response.output_text.delta", delta="Hi"),
            _event(
                "response.output_item.added",
                output_index=1,
                item={"type": "function_call", "call_id": "c", "name": "lookup", "arguments": ""},
            ),
            _event("response.function_call_arguments.delta", output_index=1, delta="{}"),
            _event("response.completed", response={"id": "r", "model": "served"}),
        )
        for e in decoder.feed("message", data)
    ]
    assert events == [
        ModelTextDelta(delta="Hi"),
        ModelToolCallStart(index=0, call_id="c", name="lookup"),
        ModelToolCallDelta(index=0, arguments="{}"),
    ]
    answer = decoder.result()  # the completed event had no output: the streamed pieces are the answer
    assert (answer.text, answer.finish_reason, answer.model) == ("Hi", "tool_calls", "served")
    assert answer.tool_calls == (ToolCall(call_id="c", name="lookup", arguments={}),)


def test_an_incomplete_event_ends_the_stream_with_length() -> None:
    decoder = ResponsesStreamDecoder("openai")
    kind, data = _event(
        "response.incomplete",
        response={
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [MESSAGE],
        },
    )
    decoder.feed(kind, data)
    assert decoder.done and decoder.result().finish_reason == "length"


def test_a_stream_without_a_terminal_event_is_dropped() -> None:
    decoder = ResponsesStreamDecoder("openai")
    decoder.feed(*_event("response.output_text.delta", delta="Hi"))
    with pytest.raises(ProviderUnavailable) as caught:
        decoder.result()
    assert caught.value.failure == "dropped"
