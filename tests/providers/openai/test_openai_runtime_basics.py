"""The OpenAI runtime against the mock upstream, in both API modes: text, tools, handoffs, history."""

from __future__ import annotations

import msgspec

from adapters.providers.openai import KIND
from contracts.conversations import AssistantMessage, ToolCallItem, ToolResultItem, UserMessage
from contracts.events import AgentHandoff, RunFinished, TextDelta, ToolCalled, ToolOutput, UsageReported
from contracts.providers import BuildContext, ProviderInstance
from contracts.tools import ToolContext
from ops.mock_upstream import MockUpstream
from tests.providers.openai.fakes import NOW, FakeCatalog, FakeToolRegistry, settings_for, turn

PATHS = {"responses": "/v1/responses", "chat_completions": "/v1/chat/completions"}


async def collect(instance: ProviderInstance, text: str, **kwargs: object) -> list[object]:
    return [event async for event in instance.runtime.stream(turn(text, **kwargs))]


async def test_run_returns_the_upstream_answer(
    instance: ProviderInstance, mock: MockUpstream, api_mode: str
) -> None:
    result = await instance.runtime.run(turn("hello world"))
    assert result.output == "Mock answer to: hello world"
    assert (result.agent, result.model, result.steps) == ("assistant", "gpt-4.1-mini", ())
    [record] = mock.requests
    assert record.path == PATHS[api_mode]
    assert not record.stream
    assert "authorization" not in record.headers


async def test_stream_yields_deltas_then_usage_then_finished(
    instance: ProviderInstance, mock: MockUpstream, api_mode: str
) -> None:
    events = await collect(instance, "hello world")
    deltas = [e.delta for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 5
    assert "".join(deltas) == "Mock answer to: hello world"
    assert isinstance(events[-2], UsageReported)
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.output, finished.agent, finished.model) == (
        "Mock answer to: hello world",
        "assistant",
        "gpt-4.1-mini",
    )
    [record] = mock.requests
    assert record.stream and record.completed and not record.closed_early


async def test_streamed_tool_round_trip_uses_the_turns_tool_context(
    instance: ProviderInstance, mock: MockUpstream, tools: FakeToolRegistry
) -> None:
    events = await collect(instance, 'please use lookup {"query": "weather"}')
    called = [e for e in events if isinstance(e, ToolCalled)]
    outputs = [e for e in events if isinstance(e, ToolOutput)]
    assert [c.call.name for c in called] == ["lookup"]
    assert called[0].call.arguments == {"query": "weather"}
    assert outputs[0].result.output == "result for weather"
    assert outputs[0].result.call_id == called[0].call.call_id
    assert events.index(called[0]) < events.index(outputs[0])
    [(call, context)] = tools.calls
    assert call.arguments == {"query": "weather"}
    assert context == ToolContext(tenant_id="t1", conversation_id="c1")
    assert isinstance(events[-1], RunFinished)
    assert events[-1].output == "Tool lookup returned: result for weather"
    assert len(mock.requests) == 2


async def test_run_reports_tool_steps_in_order(instance: ProviderInstance, tools: FakeToolRegistry) -> None:
    result = await instance.runtime.run(turn("use lookup"))
    assert [type(s) for s in result.steps] == [ToolCalled, ToolOutput]
    assert result.steps[0].call.arguments == {"query": "mock query"}
    assert result.output == "Tool lookup returned: result for mock query"
    assert len(tools.calls) == 1


async def test_handoff_is_reported_and_the_target_answers(
    instance: ProviderInstance, mock: MockUpstream, api_mode: str
) -> None:
    events = await collect(instance, "please transfer to billing")
    handoffs = [e for e in events if isinstance(e, AgentHandoff)]
    assert handoffs == [AgentHandoff(from_agent="assistant", to_agent="billing")]
    assert not [e for e in events if isinstance(e, ToolCalled)]
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.agent == "billing"
    assert finished.output == "Mock answer to: please transfer to billing"
    second = mock.requests[-1].body
    if api_mode == "responses":
        assert second["instructions"] == "You answer billing questions only."
    else:
        assert second["messages"][0]["content"] == "You answer billing questions only."


async def test_run_handoff_step(instance: ProviderInstance) -> None:
    result = await instance.runtime.run(turn("transfer to billing now"))
    assert result.agent == "billing"
    assert result.steps == (AgentHandoff(from_agent="assistant", to_agent="billing"),)


async def test_history_of_a_previous_turn_reaches_the_upstream(
    instance: ProviderInstance, mock: MockUpstream, api_mode: str
) -> None:
    history = (
        UserMessage(id="u1", created_at=NOW, text="my name is Ada"),
        AssistantMessage(id="a1", created_at=NOW, text="Hello Ada, nice to meet you"),
    )
    await instance.runtime.run(turn("what is my name", history=history))
    body = mock.requests[0].body
    messages = body["input"] if api_mode == "responses" else body["messages"]
    texts = [(m.get("role"), m.get("content")) for m in messages]
    assert ("user", "my name is Ada") in texts
    assert ("assistant", "Hello Ada, nice to meet you") in texts
    assert texts[-1] == ("user", "what is my name")
    assert "session" not in msgspec.json.encode(body).decode().lower()


async def test_model_override_is_sent_upstream(instance: ProviderInstance, mock: MockUpstream) -> None:
    result = await instance.runtime.run(turn("hi", model="my-local-model"))
    assert result.model == "my-local-model"
    assert mock.requests[0].body["model"] == "my-local-model"


async def test_ping_lists_models(instance: ProviderInstance, mock: MockUpstream) -> None:
    health = await instance.runtime.ping()
    assert health.ok
    assert mock.requests[0].path == "/v1/models"


async def test_stored_tool_calls_are_replayed_to_the_upstream(
    instance: ProviderInstance, mock: MockUpstream, api_mode: str
) -> None:
    history = (
        UserMessage(id="u1", created_at=NOW, text="use lookup"),
        ToolCallItem(id="t1", created_at=NOW, call_id="call_1", name="lookup", arguments={"query": "tea"}),
        ToolResultItem(id="t2", created_at=NOW, call_id="call_1", name="lookup", output="result for tea"),
        AssistantMessage(id="a1", created_at=NOW, text="Tea it is"),
    )
    await instance.runtime.run(turn("thanks", history=history))
    body = mock.requests[0].body
    if api_mode == "responses":
        kinds = [item.get("type", "message") for item in body["input"]]
        assert kinds == ["message", "function_call", "function_call_output", "message", "message"]
    else:
        roles = [m["role"] for m in body["messages"]]
        assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
        assert body["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "result for tea"}


async def test_local_instance_without_a_key_works(mock: MockUpstream, api_mode: str) -> None:
    settings = settings_for(mock, api_mode, api_key=None)
    assert KIND.validate("local", settings) == []
    built = KIND.build(BuildContext(name="local", tools=FakeToolRegistry(), catalog=FakeCatalog()), settings)
    try:
        result = await built.runtime.run(turn("hi"))
    finally:
        assert built.aclose is not None
        await built.aclose()
    assert result.output == "Mock answer to: hi"
