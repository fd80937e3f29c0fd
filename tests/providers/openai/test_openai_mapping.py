"""Pure mapping functions (SDK shapes <-> neutral), with plain stand-ins for SDK objects: no HTTP."""

from __future__ import annotations

from types import SimpleNamespace as NS

from adapters.providers.openai.agents.mapping import (
    decode_arguments,
    history_to_input,
    steps_of,
    stream_event_to_neutral,
    usage_from_sdk,
)
from adapters.providers.openai.realtime.mapping import client_to_upstream, upstream_to_neutral, usage_of
from adapters.providers.openai.retry import RetryPolicy
from contracts.conversations import AssistantMessage, ToolCallItem, ToolResultItem, UserMessage
from contracts.events import AgentHandoff, TextDelta, ToolCalled, ToolOutput
from contracts.realtime import InputAudio, InputText, OutputAudioDelta, OutputTextDelta, RealtimeError
from contracts.tools import ToolCall, ToolResult
from contracts.usage import Usage
from tests.providers.openai.fakes import NOW


def test_usage_maps_cached_and_reasoning_tokens() -> None:
    sdk = NS(
        input_tokens=100,
        output_tokens=40,
        total_tokens=140,
        input_tokens_details=NS(cached_tokens=25),
        output_tokens_details=NS(reasoning_tokens=10),
    )
    assert usage_from_sdk(sdk) == Usage(
        input_tokens=100, output_tokens=40, total_tokens=140, cached_tokens=25, reasoning_tokens=10
    )


def test_usage_without_details_or_total() -> None:
    sdk = NS(
        input_tokens=3, output_tokens=2, total_tokens=0, input_tokens_details=None, output_tokens_details=None
    )
    assert usage_from_sdk(sdk) == Usage(input_tokens=3, output_tokens=2, total_tokens=5)
    assert usage_from_sdk(None) == Usage()


def test_history_becomes_input_items_with_complete_tool_pairs_only() -> None:
    history = (
        UserMessage(id="1", created_at=NOW, text="hi"),
        AssistantMessage(id="2", created_at=NOW, text="hello"),
        ToolCallItem(id="3", created_at=NOW, call_id="c1", name="lookup", arguments={"query": "x"}),
        ToolResultItem(id="4", created_at=NOW, call_id="c1", name="lookup", output="found x"),
        ToolCallItem(id="5", created_at=NOW, call_id="orphan", name="lookup", arguments={}),
        AssistantMessage(id="6", created_at=NOW, text="", status="failed"),
    )
    assert history_to_input(history, "next") == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"query":"x"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "found x"},
        {"role": "user", "content": "next"},
    ]


def test_arguments_decoding_tolerates_bad_json() -> None:
    assert decode_arguments('{"a": 1}') == {"a": 1}
    assert decode_arguments("") == {}
    assert decode_arguments("not json") == {"_raw": "not json"}
    assert decode_arguments("[1]") == {"_value": [1]}


def test_text_delta_event() -> None:
    event = NS(type="raw_response_event", data=NS(type="response.output_text.delta", delta="Hel"))
    assert stream_event_to_neutral(event, {}) == TextDelta(delta="Hel")
    other = NS(type="raw_response_event", data=NS(type="response.created"))
    assert stream_event_to_neutral(other, {}) is None
    assert stream_event_to_neutral(NS(type="agent_updated_stream_event"), {}) is None


def test_tool_events_use_the_registrys_result() -> None:
    raw_call = NS(type="function_call", call_id="c9", name="lookup", arguments='{"query": "q"}')
    called = NS(
        type="run_item_stream_event", name="tool_called", item=NS(type="tool_call_item", raw_item=raw_call)
    )
    output_item = NS(type="tool_call_output_item", raw_item={"call_id": "c9", "output": "x"}, output="x")
    output = NS(type="run_item_stream_event", name="tool_output", item=output_item)
    result = ToolResult(call_id="c9", name="lookup", output="bad query", is_error=True)
    assert stream_event_to_neutral(called, {}) == ToolCalled(
        call=ToolCall(call_id="c9", name="lookup", arguments={"query": "q"})
    )
    assert stream_event_to_neutral(output, {"c9": result}) == ToolOutput(result=result)
    unknown = stream_event_to_neutral(output, {})
    assert isinstance(unknown, ToolOutput)
    assert unknown.result.output == "x"


def test_handoff_event_and_run_steps() -> None:
    item = NS(type="handoff_output_item", source_agent=NS(name="triage"), target_agent=NS(name="billing"))
    event = NS(type="run_item_stream_event", name="handoff_occured", item=item)
    assert stream_event_to_neutral(event, {}) == AgentHandoff(from_agent="triage", to_agent="billing")
    message = NS(type="message_output_item")
    assert steps_of([message, item], {}) == (AgentHandoff(from_agent="triage", to_agent="billing"),)


def test_retry_policy_budget_and_retry_after() -> None:
    policy = RetryPolicy(max_retries=2, base_delay_s=0.5)
    first = policy.delay(0, retryable=True)
    assert first is not None and 0.25 <= first <= 0.5
    second = policy.delay(1, retryable=True)
    assert second is not None and 0.5 <= second <= 1.0
    assert policy.delay(2, retryable=True) is None
    assert policy.delay(0, retryable=False) is None
    assert policy.delay(0, retryable=True, retry_after_s=3) == 3
    assert policy.delay(0, retryable=True, retry_after_s=999) == 30.0


def test_realtime_mapping() -> None:
    create, respond = client_to_upstream(InputText(text="hi"))
    assert create["item"]["content"] == [{"type": "input_text", "text": "hi"}]
    assert respond == {"type": "response.create"}
    assert client_to_upstream(InputAudio(audio="QUJD")) == [
        {"type": "input_audio_buffer.append", "audio": "QUJD"}
    ]
    assert upstream_to_neutral({"type": "response.text.delta", "delta": "a"}) == OutputTextDelta(delta="a")
    assert upstream_to_neutral({"type": "response.output_audio.delta", "delta": "QUJD"}) == OutputAudioDelta(
        audio="QUJD"
    )
    error = upstream_to_neutral({"type": "error", "error": {"code": "bad_event", "message": "secret prompt"}})
    assert isinstance(error, RealtimeError)
    assert "secret prompt" not in error.error.detail and "bad_event" in error.error.detail
    usage = {
        "input_tokens": 4,
        "output_tokens": 2,
        "total_tokens": 6,
        "input_token_details": {"cached_tokens": 1},
    }
    assert usage_of({"usage": usage}) == Usage(
        input_tokens=4, output_tokens=2, total_tokens=6, cached_tokens=1
    )
