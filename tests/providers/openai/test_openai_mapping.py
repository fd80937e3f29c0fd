"""Pure translations (SDK shapes <-> neutral), no model and no HTTP: input items, settings, tools,
output items, the Responses stream events, run steps; and the realtime mapping."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest
from agents import Agent as SdkAgent
from agents import AgentOutputSchema, FunctionTool, ModelSettings, WebSearchTool, handoff
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText
from openai.types.shared import Reasoning

from adapters.providers.openai.agents.input_items import decode_arguments, to_messages
from adapters.providers.openai.agents.mapping import StepMapper, history_results, history_to_input
from adapters.providers.openai.agents.model_request import RequestParts, settings_fields, unsupported
from adapters.providers.openai.agents.output_items import output_items, sdk_usage
from adapters.providers.openai.agents.responses_stream import ResponsesStream
from adapters.providers.openai.realtime.mapping import client_to_upstream, upstream_to_neutral, usage_of
from contracts.conversations import AssistantMessage, ToolCallItem, ToolResultItem, UserMessage
from contracts.errors import ProviderRejected
from contracts.events import AgentHandoff, TextDelta, ToolCalled, ToolOutput
from contracts.models import (
    AssistantReply,
    ImagePart,
    ModelDone,
    ModelResponse,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    OpaquePart,
    SystemPrompt,
    TextPart,
    ToolChoice,
    ToolReturn,
    UserPrompt,
)
from contracts.realtime import InputAudio, InputText, OutputAudioDelta, OutputTextDelta, RealtimeError
from contracts.tools import ToolCall, ToolResult
from contracts.usage import Usage
from tests.providers.openai.fakes import NOW


def refuse(what: str) -> Exception:
    return unsupported("route", what)


def messages(items: Any, results: dict[str, ToolResult] | None = None) -> tuple[Any, ...]:
    return to_messages("be brief", items, results or {}, refuse)


def test_input_items_become_neutral_messages_with_call_ids_kept() -> None:
    items = [
        {"role": "developer", "content": "house rules"},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "what is this? "},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": []},
        ResponseOutputMessage(
            id="m1",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text="Let me look.", annotations=[])],
        ),
        ResponseFunctionToolCall(
            type="function_call", call_id="c1", name="lookup", arguments='{"query": "x"}'
        ),
        {"type": "function_call", "call_id": "c2", "name": "lookup", "arguments": "not json"},
        {"type": "function_call_output", "call_id": "c1", "output": "found x"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "bad"}]},
        {"role": "assistant", "content": "Done."},
        {"role": "assistant", "content": "Anything else?"},
        {"role": "user", "content": "no"},
    ]
    results = {"c2": ToolResult(call_id="c2", name="lookup", output="bad", is_error=True)}
    assert messages(items, results) == (
        SystemPrompt(text="be brief"),
        SystemPrompt(text="house rules"),
        UserPrompt(
            content=(
                TextPart(text="what is this? "),
                ImagePart(url="data:image/png;base64,AAAA", detail="low"),
            )
        ),
        AssistantReply(
            text="Let me look.",
            tool_calls=(
                ToolCall(call_id="c1", name="lookup", arguments={"query": "x"}),
                ToolCall(call_id="c2", name="lookup", arguments={"_raw": "not json"}),
            ),
            opaque=(
                OpaquePart(
                    protocol="openai.responses", data={"type": "reasoning", "id": "rs_1", "summary": []}
                ),
            ),
        ),
        ToolReturn(call_id="c1", name="lookup", output="found x"),
        ToolReturn(call_id="c2", name="lookup", output="bad", is_error=True),
        AssistantReply(text="Done."),
        AssistantReply(text="Anything else?"),
        UserPrompt.of("no"),
    )
    assert messages("just text") == (SystemPrompt(text="be brief"), UserPrompt.of("just text"))


@pytest.mark.parametrize(
    "item",
    [
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"type": "item_reference", "id": "msg_1"},
        {"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]},
    ],
)
def test_inputs_the_neutral_layer_cannot_carry_are_refused(item: dict[str, Any]) -> None:
    with pytest.raises(ProviderRejected) as caught:
        messages([item])
    assert caught.value.failure == "unsupported"


def test_opaque_parts_survive_the_trip_through_sdk_output_items() -> None:
    opaque = (
        OpaquePart(protocol="openai.responses", data={"type": "reasoning", "id": "rs_9", "summary": []}),
        OpaquePart(
            protocol="anthropic.messages", data={"type": "thinking", "thinking": "t", "signature": "s"}
        ),
    )
    call = ToolCall(call_id="c1", name="lookup", arguments={"query": "q"})
    response = ModelResponse(text="Checking.", tool_calls=(call,), opaque=opaque)
    items = [item.model_dump(exclude_unset=True) for item in output_items(response, "msg_1")]
    assert [item["type"] for item in items] == ["reasoning", "reasoning", "message", "function_call"]
    assert messages(items)[1:] == (AssistantReply(text="Checking.", tool_calls=(call,), opaque=opaque),)
    again = output_items(ModelResponse(text="Again.", opaque=opaque), "msg_2")
    assert items[1]["id"] != again[1].id  # the SDK drops input items whose type and id repeat


def test_an_empty_answer_is_still_a_message() -> None:
    [item] = output_items(ModelResponse(), "msg_1")
    assert (item.type, item.content[0].text) == ("message", "")


def test_usage_goes_to_the_sdk_with_cached_cache_write_and_reasoning_tokens() -> None:
    usage = sdk_usage(
        Usage(
            input_tokens=100,
            output_tokens=40,
            total_tokens=140,
            cached_tokens=25,
            cache_write_tokens=5,
            reasoning_tokens=10,
        )
    )
    assert (usage.requests, usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1, 100, 40, 140)
    assert usage.input_tokens_details.cached_tokens == 25
    assert usage.input_tokens_details.cache_write_tokens == 5
    assert usage.output_tokens_details.reasoning_tokens == 10


def test_model_settings_become_request_fields_and_extras() -> None:
    settings = ModelSettings(
        temperature=0.2,
        top_p=0.9,
        max_tokens=64,
        tool_choice="lookup",
        parallel_tool_calls=False,
        metadata={"team": "a"},
        reasoning=Reasoning(effort="low"),
        extra_body={"top_k": 5, "stop": "END"},
        extra_args={"seed": 7, "user": "u1"},
    )
    assert settings_fields(settings, "route") == {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 64,
        "parallel_tool_calls": False,
        "tool_choice": ToolChoice(mode="tool", name="lookup"),
        "metadata": {"team": "a"},
        "seed": 7,
        "user": "u1",
        "stop": ("END",),
        "extras": {"top_k": 5, "reasoning": {"effort": "low"}},
    }
    assert settings_fields(ModelSettings(), "route") == {}
    assert settings_fields(ModelSettings(tool_choice="required"), "r")["tool_choice"] == ToolChoice(
        mode="required"
    )


async def _never(_ctx: Any, _args: str) -> str:
    return ""


def test_tools_handoffs_and_output_schemas_are_converted_once_per_object() -> None:
    tool = FunctionTool(
        name="lookup",
        description="Look.",
        params_json_schema={},
        on_invoke_tool=_never,
        strict_json_schema=False,
    )
    transfer = handoff(SdkAgent(name="billing", handoff_description="Billing."))
    parts = RequestParts()
    specs = parts.tools([tool], [transfer], "route")
    assert [s.name for s in specs] == ["lookup", "transfer_to_billing"]
    assert specs[0].parameters == {"type": "object", "properties": {}, "additionalProperties": False}
    assert parts.tools([tool], [transfer], "route") is specs
    schema = AgentOutputSchema(dict[str, int], strict_json_schema=False)
    converted = parts.response_format(schema)
    assert converted is not None and converted.type == "json_schema"
    assert parts.response_format(schema) is converted
    assert parts.response_format(AgentOutputSchema(str)) is None
    assert parts.misses == 3
    with pytest.raises(ProviderRejected, match="WebSearchTool"):
        parts.tools([WebSearchTool()], [], "route")


def event_types(events: list[Any]) -> list[str]:
    return [event.type for event in events]


def test_neutral_stream_events_become_the_responses_events_the_sdk_needs() -> None:
    call = ToolCall(call_id="c1", name="lookup", arguments={"query": "q"})
    response = ModelResponse(
        text="Hi there", tool_calls=(call,), usage=Usage(input_tokens=3, output_tokens=2)
    )
    stream = ResponsesStream("msg_1")
    events = [stream.created()]
    for event in (
        ModelTextDelta(delta="Hi "),
        ModelTextDelta(delta="there"),
        ModelToolCallStart(index=0, call_id="c1", name="lookup"),
        ModelToolCallDelta(index=0, arguments='{"query":'),
        ModelToolCallDelta(index=0, arguments=' "q"}'),
        ModelDone(response=response),
    ):
        events += stream.feed(event)
    assert event_types(events) == [
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[5].text == "Hi there"
    assert events[11].arguments == '{"query": "q"}'
    completed = events[-1].response
    assert [item.type for item in completed.output] == ["message", "function_call"]
    assert (completed.usage.input_tokens, completed.usage.output_tokens) == (3, 2)
    assert stream.done is response


def test_run_steps_keep_tool_names_and_the_registrys_results() -> None:
    raw_call = NS(type="function_call", call_id="c9", name="lookup", arguments='{"query": "q"}')
    call_item = NS(type="tool_call_item", raw_item=raw_call)
    output_item = NS(type="tool_call_output_item", raw_item={"call_id": "c9", "output": "x"}, output="x")
    recorded = ToolResult(call_id="c9", name="lookup", output="bad query", is_error=True)
    assert StepMapper({"c9": recorded}).steps([call_item, output_item]) == (
        ToolCalled(call=ToolCall(call_id="c9", name="lookup", arguments={"query": "q"})),
        ToolOutput(result=recorded),
    )
    unrecorded = StepMapper({}).steps([call_item, output_item])[1]
    assert unrecorded == ToolOutput(result=ToolResult(call_id="c9", name="lookup", output="x"))
    handoff_item = NS(
        type="handoff_output_item", source_agent=NS(name="triage"), target_agent=NS(name="billing")
    )
    event = NS(type="run_item_stream_event", name="handoff_occured", item=handoff_item)
    assert StepMapper({}).event(event) == AgentHandoff(from_agent="triage", to_agent="billing")
    delta = NS(type="raw_response_event", data=NS(type="response.output_text.delta", delta="Hel"))
    assert StepMapper({}).event(delta) == TextDelta(delta="Hel")
    assert StepMapper({}).event(NS(type="agent_updated_stream_event")) is None


def test_history_becomes_input_items_with_complete_tool_pairs_only() -> None:
    history = (
        UserMessage(id="1", created_at=NOW, text="hi"),
        AssistantMessage(id="2", created_at=NOW, text="hello"),
        ToolCallItem(id="3", created_at=NOW, call_id="c1", name="lookup", arguments={"query": "x"}),
        ToolResultItem(id="4", created_at=NOW, call_id="c1", name="lookup", output="found x", is_error=True),
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
    assert history_results(history) == {
        "c1": ToolResult(call_id="c1", name="lookup", output="found x", is_error=True)
    }


def test_arguments_decoding_tolerates_bad_json() -> None:
    assert decode_arguments('{"a": 1}') == {"a": 1}
    assert decode_arguments("") == {}
    assert decode_arguments("not json") == {"_raw": "not json"}
    assert decode_arguments("[1]") == {"_value": [1]}


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
