"""The ``agents_sdk`` engine over a fake ``LanguageModel``: text, tools, handoffs, structured output,
history, usage, and which provider and model answered."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import msgspec

from adapters.providers.openai import KIND
from adapters.providers.openai.agents.runtime import AgentsSdkRuntime
from contracts.conversations import AssistantMessage, ToolCallItem, ToolResultItem, UserMessage
from contracts.events import AgentHandoff, RunFinished, TextDelta, ToolCalled, ToolOutput, UsageReported
from contracts.models import (
    AssistantReply,
    Attempt,
    ModelRequest,
    OpaquePart,
    ResponseFormat,
    SystemPrompt,
    ToolReturn,
    UserPrompt,
)
from contracts.ports import AgentRuntime
from contracts.providers import EngineContext
from contracts.tools import ToolCall, ToolContext, ToolResult
from contracts.usage import Usage
from ops.mock_upstream.logic import pieces
from tests.providers.openai.fakes import AGENTS, LOOKUP, NOW, FakeCatalog, FakeToolRegistry, turn
from tests.support.fake_models import FakeLanguageModel

REPO = Path(__file__).resolve().parents[3]


async def collect(
    engine: AgentsSdkRuntime, model: FakeLanguageModel, text: str, **kwargs: object
) -> list[object]:
    return [event async for event in engine.stream(turn(text, **kwargs), model)]  # type: ignore[arg-type]


def usage_of(model: FakeLanguageModel, requests: list[ModelRequest]) -> Usage:
    """What the fake reported for ``requests``, summed."""
    total = Usage()
    for request in requests:
        total = total.plus(model.answer(request).usage)
    return total


async def test_run_returns_the_answer_and_who_gave_it(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    result = await engine.run(turn("hello world"), language_model)
    assert result.output == "Mock answer to: hello world"
    assert (result.agent, result.provider, result.model, result.steps, result.attempts) == (
        "assistant",
        "fake-openai",
        "fake-model-1",
        (),
        (),
    )
    assert result.usage == usage_of(language_model, language_model.requests)
    assert language_model.streams_opened == 0


async def test_stream_yields_the_models_pieces_then_usage_then_finished(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    events = await collect(engine, language_model, "hello world")
    deltas = [e.delta for e in events if isinstance(e, TextDelta)]
    assert deltas == pieces("Mock answer to: hello world")
    usage = usage_of(language_model, language_model.requests)
    assert events[-2:] == [
        UsageReported(usage=usage),
        RunFinished(
            output="Mock answer to: hello world",
            usage=usage,
            model="fake-model-1",
            agent="assistant",
            provider="fake-openai",
        ),
    ]
    assert (language_model.streams_opened, language_model.streams_closed_early) == (1, 0)


async def test_the_request_carries_instructions_tools_and_handoff_tools(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    await engine.run(turn("hi"), language_model)
    [request] = language_model.requests
    assert request.messages == (
        SystemPrompt(text="You are a helpful assistant."),
        UserPrompt.of("hi"),
    )
    assert request.model == ""  # the route's deployment decides
    lookup, transfer = request.tools
    assert lookup == LOOKUP
    assert transfer.name == "transfer_to_billing"
    assert "Billing questions." in transfer.description
    assert transfer.parameters["type"] == "object"
    assert request.response_format is None


async def test_streamed_tool_round_trip_keeps_ids_names_and_the_tool_context(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel, tools: FakeToolRegistry
) -> None:
    events = await collect(engine, language_model, 'please use lookup {"query": "weather"}')
    [called] = [e for e in events if isinstance(e, ToolCalled)]
    [output] = [e for e in events if isinstance(e, ToolOutput)]
    assert called.call == ToolCall(call_id="call_1", name="lookup", arguments={"query": "weather"})
    assert output.result == ToolResult(call_id="call_1", name="lookup", output="result for weather")
    assert events.index(called) < events.index(output)
    [(call, context)] = tools.calls
    assert call == called.call
    assert context == ToolContext(tenant_id="t1", conversation_id="c1")
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.output == "Tool lookup returned: result for weather"
    second = language_model.requests[1]
    assert second.messages[-2:] == (
        AssistantReply(tool_calls=(called.call,)),
        ToolReturn(call_id="call_1", name="lookup", output="result for weather"),
    )


async def test_a_failed_tool_keeps_its_name_and_error_flag(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    result = await engine.run(turn('use lookup {"q": 1}'), language_model)
    called, output = result.steps
    assert isinstance(called, ToolCalled) and isinstance(output, ToolOutput)
    assert output.result == ToolResult(call_id="call_1", name="lookup", output="query missing", is_error=True)
    assert language_model.requests[1].messages[-1] == ToolReturn(
        call_id="call_1", name="lookup", output="query missing", is_error=True
    )
    streamed = await collect(engine, language_model, 'use lookup {"q": 1}')
    [streamed_output] = [e for e in streamed if isinstance(e, ToolOutput)]
    assert (streamed_output.result.name, streamed_output.result.is_error) == ("lookup", True)


async def test_usage_is_summed_over_the_model_calls_with_cached_and_reasoning_tokens(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    result = await engine.run(turn('use lookup {"query": "x"}'), language_model)
    assert len(language_model.requests) == 2
    expected = usage_of(language_model, language_model.requests)
    assert result.usage == expected
    assert expected.cached_tokens > 0 and expected.reasoning_tokens > 0
    assert expected.input_tokens > language_model.answer(language_model.requests[0]).usage.input_tokens


async def test_handoff_is_reported_and_the_target_agent_answers(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    events = await collect(engine, language_model, "please transfer to billing")
    assert [e for e in events if isinstance(e, AgentHandoff)] == [
        AgentHandoff(from_agent="assistant", to_agent="billing")
    ]
    assert not [e for e in events if isinstance(e, ToolCalled)]
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.agent, finished.output) == ("billing", "Mock answer to: please transfer to billing")
    second = language_model.requests[-1]
    assert second.messages[0] == SystemPrompt(text="You answer billing questions only.")
    assert second.tools == ()
    result = await engine.run(turn("transfer to billing now"), language_model)
    assert result.agent == "billing"
    assert result.steps == (AgentHandoff(from_agent="assistant", to_agent="billing"),)


async def test_structured_output_is_json_text_and_the_request_asks_for_the_schema(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    result = await engine.run(turn("Paris has many bridges", agent="extractor"), language_model)
    assert msgspec.json.decode(result.output) == {"city": "mock city", "count": 4}
    response_format = language_model.requests[0].response_format
    assert isinstance(response_format, ResponseFormat)
    assert (response_format.type, response_format.name, response_format.strict) == (
        "json_schema",
        "extractor_output",
        True,
    )
    assert response_format.schema is not None
    assert response_format.schema["required"] == ["city", "count"]
    events = await collect(engine, language_model, "Paris has many bridges", agent="extractor")
    assert isinstance(events[-1], RunFinished)
    assert msgspec.json.decode(events[-1].output) == {"city": "mock city", "count": 4}


async def test_history_with_tool_calls_reaches_the_model_with_ids_names_and_flags(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    history = (
        UserMessage(id="u1", created_at=NOW, text="use lookup"),
        ToolCallItem(id="t1", created_at=NOW, call_id="call_abc", name="lookup", arguments={"query": "tea"}),
        ToolResultItem(
            id="t2", created_at=NOW, call_id="call_abc", name="lookup", output="no tea", is_error=True
        ),
        ToolCallItem(id="t3", created_at=NOW, call_id="orphan", name="lookup", arguments={}),
        AssistantMessage(id="a1", created_at=NOW, text="Tea it is"),
        AssistantMessage(id="a2", created_at=NOW, text="", status="failed"),
    )
    await engine.run(turn("thanks", history=history), language_model)
    assert language_model.requests[0].messages == (
        SystemPrompt(text="You are a helpful assistant."),
        UserPrompt.of("use lookup"),
        AssistantReply(tool_calls=(ToolCall(call_id="call_abc", name="lookup", arguments={"query": "tea"}),)),
        ToolReturn(call_id="call_abc", name="lookup", output="no tea", is_error=True),
        AssistantReply(text="Tea it is"),
        UserPrompt.of("thanks"),
    )


async def test_provider_model_and_attempts_come_from_the_models_responses(
    engine: AgentsSdkRuntime,
) -> None:
    failed = Attempt(
        provider="openai-eu", model="gpt-x", failure="rate_limited", detail="HTTP 429", status=429
    )
    model = FakeLanguageModel(provider="anthropic", model="claude-x", attempts=(failed,))
    result = await engine.run(turn('use lookup {"query": "x"}'), model)
    assert (result.provider, result.model) == ("anthropic", "claude-x")
    assert result.attempts == (failed, failed)  # one failed attempt before each of the two calls
    events = [e async for e in engine.stream(turn("hi"), model)]
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.provider, finished.model, finished.attempts) == ("anthropic", "claude-x", (failed,))


async def test_reasoning_and_other_opaque_state_comes_back_on_the_next_call(engine: AgentsSdkRuntime) -> None:
    opaque = (
        OpaquePart(
            protocol="openai.responses",
            data={"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"},
        ),
        OpaquePart(
            protocol="anthropic.messages", data={"type": "thinking", "thinking": "t", "signature": "s"}
        ),
    )
    model = FakeLanguageModel(opaque=opaque)
    await engine.run(turn('use lookup {"query": "x"}'), model)
    reply = model.requests[1].messages[-2]
    assert isinstance(reply, AssistantReply)
    assert reply.opaque == opaque
    assert [c.call_id for c in reply.tool_calls] == ["call_1"]


async def test_agent_graphs_and_tool_specs_are_built_once(
    engine: AgentsSdkRuntime, language_model: FakeLanguageModel
) -> None:
    first = engine._graphs.agent(AGENTS["assistant"])
    await engine.run(turn('use lookup {"query": "x"}'), language_model)
    misses = engine._parts.misses
    await engine.run(turn('use lookup {"query": "y"}'), language_model)
    assert engine._graphs.agent(AGENTS["assistant"]) is first
    assert engine._parts.misses == misses
    assert language_model.requests[0].tools is language_model.requests[-1].tools


async def test_one_agent_graph_serves_concurrent_turns_on_different_routes(engine: AgentsSdkRuntime) -> None:
    openai = FakeLanguageModel(name="fast", provider="openai-eu", model="gpt-x", delta_delay_s=0.01)
    anthropic = FakeLanguageModel(name="smart", provider="anthropic", model="claude-x", delta_delay_s=0.01)
    first, second = await asyncio.gather(
        engine.run(turn('use lookup {"query": "a"}'), openai),
        collect(engine, anthropic, 'use lookup {"query": "b"}'),
    )
    assert (first.provider, first.model, first.output) == (
        "openai-eu",
        "gpt-x",
        "Tool lookup returned: result for a",
    )
    finished = second[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.provider, finished.model) == ("anthropic", "claude-x")
    assert finished.output == "Tool lookup returned: result for b"
    assert (len(openai.requests), len(anthropic.requests)) == (2, 2)


def test_the_openai_kind_offers_the_engine_without_importing_the_sdk() -> None:
    code = (
        "import sys, adapters.providers.openai as kind; "
        "assert 'agents_sdk' in kind.KIND.engines; "
        "print(sorted(m for m in ('agents', 'openai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    built = KIND.engines["agents_sdk"](
        EngineContext(tools=FakeToolRegistry(), catalog=FakeCatalog(), max_steps=3)
    )
    assert isinstance(built, AgentsSdkRuntime)
    assert isinstance(built, AgentRuntime)
    assert built._max_turns == 3
