"""The Chat Completions codec: every ``ModelRequest`` field as the upstream receives it, and answers of
shapes the mock does not produce (other compatible servers, edge cases)."""

from __future__ import annotations

import msgspec
import pytest

from adapters.providers.openai.wire import chat_completions
from adapters.providers.openai.wire.chat_stream import ChatStreamDecoder
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
from tests.providers.openai.wire_support import LOOKUP, model_on

HISTORY = (
    SystemPrompt(text="Be brief."),
    UserPrompt.of("weather?"),
    AssistantReply(
        text="Let me look.",
        tool_calls=(ToolCall(call_id="call_a1", name="lookup", arguments={"query": "Oslo"}),),
        opaque=(OpaquePart(protocol="openai.responses", data={"type": "reasoning", "id": "rs_1"}),),
    ),
    ToolReturn(call_id="call_a1", name="lookup", output="sunny"),
    UserPrompt.of("thanks"),
)


def encode(request: ModelRequest, *, stream: bool = False) -> dict[str, object]:
    body = chat_completions.encode_request(request, "m", stream=stream, provider="openai")
    decoded: dict[str, object] = msgspec.json.decode(body)
    return decoded


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
        stop=("END", "STOP"),
        seed=42,
        presence_penalty=0.1,
        frequency_penalty=0.3,
        parallel_tool_calls=False,
        user="user-7",
        metadata={"tenant": "t1"},
    )
    async with model_on(mock, "chat_completions") as model:
        await model.complete(request)
    [record] = mock.requests
    assert record.body == {
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "type": "function",
                        "id": "call_a1",
                        "function": {"name": "lookup", "arguments": '{"query":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "content": "sunny", "tool_call_id": "call_a1"},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": LOOKUP.description,
                    "parameters": LOOKUP.parameters,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "parallel_tool_calls": False,
        "response_format": {"type": "json_object"},
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 64,
        "stop": ["END", "STOP"],
        "seed": 42,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
        "user": "user-7",
        "metadata": {"tenant": "t1"},
    }


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        (ToolChoice(mode="auto"), "auto"),
        (ToolChoice(mode="none"), "none"),
        (ToolChoice(mode="required"), "required"),
        (ToolChoice(mode="tool"), "required"),
    ],
)
def test_tool_choice_modes(choice: ToolChoice, sent: str) -> None:
    assert encode(ModelRequest(messages=HISTORY, tools=(LOOKUP,), tool_choice=choice))["tool_choice"] == sent


def test_tool_settings_are_not_sent_without_tools() -> None:
    body = encode(
        ModelRequest(messages=HISTORY, tool_choice=ToolChoice(mode="none"), parallel_tool_calls=True)
    )
    assert "tool_choice" not in body and "parallel_tool_calls" not in body and "tools" not in body


def test_a_tool_list_is_encoded_once_per_identity() -> None:
    tools = (LOOKUP,)
    first = chat_completions.TOOLS.get(tools)
    assert chat_completions.TOOLS.get(tools) is first
    assert chat_completions.TOOLS.get((LOOKUP,)) is first  # a new tuple of the same spec objects


def test_extras_replace_fields_without_duplicate_keys() -> None:
    request = ModelRequest(
        messages=HISTORY, temperature=0.9, extras={"openai.chat": {"temperature": 0.0, "model": "other"}}
    )
    raw = chat_completions.encode_request(request, "m", stream=False, provider="openai")
    assert raw.count(b'"temperature"') == 1 and raw.count(b'"model"') == 1
    assert msgspec.json.decode(raw)["model"] == "other"


def test_stream_options_from_extras_keep_usage() -> None:
    body = encode(
        ModelRequest(
            messages=HISTORY, extras={"openai.chat": {"stream_options": {"include_obfuscation": False}}}
        ),
        stream=True,
    )
    assert body["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert body["stream"] is True
    assert "stream_options" not in encode(
        ModelRequest(messages=HISTORY, extras={"openai.chat": {"stream_options": {}}})
    )


def _answer(message: dict[str, object], finish: str | None = "stop") -> bytes:
    choice = {"index": 0, "message": message, "finish_reason": finish}
    return msgspec.json.encode({"id": "c1", "model": "m", "choices": [choice]})


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("stop", "stop"), ("length", "length"), ("content_filter", "content_filter"), (None, "stop")],
)
def test_finish_reasons(finish: str | None, expected: str) -> None:
    answer = chat_completions.decode_answer("openai", _answer({"content": "hi"}, finish))
    assert answer.finish_reason == expected and answer.usage.total_tokens == 0


def test_a_refusal_is_the_answer_text() -> None:
    answer = chat_completions.decode_answer("openai", _answer({"content": None, "refusal": "I can't."}))
    assert answer.text == "I can't."


def test_tool_arguments_that_are_not_an_object_are_malformed() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "lookup", "arguments": "[1, 2"}}
    with pytest.raises(ProviderUnavailable) as caught:
        chat_completions.decode_answer("openai", _answer({"tool_calls": [call]}, "tool_calls"))
    assert caught.value.failure == "malformed" and "[1, 2" not in str(caught.value)


def _feed(decoder: ChatStreamDecoder, *chunks: dict[str, object] | str) -> list[object]:
    events: list[object] = []
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else msgspec.json.encode(chunk)
        events.extend(decoder.feed("message", data))
    return events


def _delta(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"id": "c9", "model": "served", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_calls_sharing_index_zero_with_new_ids_are_separate_calls() -> None:
    """Some servers (Ollama) number every call 0 and send each whole."""
    decoder = ChatStreamDecoder("local")
    first = {"index": 0, "id": "a", "function": {"name": "lookup", "arguments": '{"query": "x"}'}}
    second = {"index": 0, "id": "b", "function": {"name": "lookup", "arguments": '{"query": "y"}'}}
    events = _feed(
        decoder, _delta({"tool_calls": [first]}), _delta({"tool_calls": [second]}), _delta({}, "stop")
    )
    assert events == [
        ModelToolCallStart(index=0, call_id="a", name="lookup"),
        ModelToolCallDelta(index=0, arguments='{"query": "x"}'),
        ModelToolCallStart(index=1, call_id="b", name="lookup"),
        ModelToolCallDelta(index=1, arguments='{"query": "y"}'),
    ]
    answer = decoder.result()  # a finish reason without [DONE] is a complete answer
    assert [c.arguments for c in answer.tool_calls] == [{"query": "x"}, {"query": "y"}]
    assert answer.finish_reason == "tool_calls" and answer.model == "served" and answer.response_id == "c9"


def test_arguments_before_the_name_are_held_until_the_call_starts() -> None:
    decoder = ChatStreamDecoder("local")
    events = _feed(
        decoder,
        _delta({"tool_calls": [{"index": 0, "function": {"arguments": '{"q"'}}]}),
        _delta({"tool_calls": [{"index": 0, "function": {"name": "lookup", "arguments": ": 1}"}}]}),
        _delta({}, "tool_calls"),
        "[DONE]",
    )
    start, held, rest = events
    assert isinstance(start, ModelToolCallStart) and start.call_id.startswith("call_")
    assert (held, rest) == (
        ModelToolCallDelta(index=0, arguments='{"q"'),
        ModelToolCallDelta(index=0, arguments=": 1}"),
    )
    assert decoder.done and decoder.result().tool_calls[0].arguments == {"q": 1}


def test_text_and_usage_chunks() -> None:
    decoder = ChatStreamDecoder("openai")
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": None}}
    events = _feed(
        decoder,
        _delta({"role": "assistant", "content": ""}),
        _delta({"content": "Hi "}),
        _delta({"content": "there"}, "length"),
        {"id": "c9", "model": "served", "choices": [], "usage": usage},
        "[DONE]",
    )
    assert events == [ModelTextDelta(delta="Hi "), ModelTextDelta(delta="there")]
    answer = decoder.result()
    assert (answer.text, answer.finish_reason) == ("Hi there", "length")
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.total_tokens) == (5, 2, 7)


def test_an_error_chunk_raises_its_class() -> None:
    decoder = ChatStreamDecoder("openai")
    with pytest.raises(ProviderRejected) as caught:
        _feed(decoder, {"error": {"message": "too long: secret prompt", "code": "context_length_exceeded"}})
    assert caught.value.failure == "context_too_long" and "secret prompt" not in str(caught.value)
    with pytest.raises(ProviderUnavailable) as numeric:
        _feed(ChatStreamDecoder("local"), {"object": "error", "error": {"code": 503, "message": "x"}})
    assert numeric.value.failure == "overloaded" and numeric.value.upstream_status == 503


def test_a_stream_without_finish_or_done_is_dropped() -> None:
    decoder = ChatStreamDecoder("openai")
    _feed(decoder, _delta({"content": "Hi"}))
    with pytest.raises(ProviderUnavailable) as caught:
        decoder.result()
    assert caught.value.failure == "dropped"
