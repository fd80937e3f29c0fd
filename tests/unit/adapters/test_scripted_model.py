"""The scripted provider's model, run by the neutral tool loop: its documented, deterministic script."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import msgspec
import pytest

from adapters.providers.scripted import KIND, ScriptedSettings
from adapters.providers.scripted.model import ScriptedModel
from adapters.tools import ToolDefinition, ToolRegistry, default_tools
from backend.services.tool_loop import ToolLoopRuntime
from contracts.agents import AgentDescriptor, ProviderCapabilities
from contracts.conversations import AssistantMessage, ConversationItem, UserMessage
from contracts.errors import NotFound
from contracts.events import (
    AgentHandoff,
    RunFinished,
    RuntimeEvent,
    TextDelta,
    ToolCalled,
    ToolOutput,
    UsageReported,
)
from contracts.models import ModelRequest, UserPrompt
from contracts.ports import AgentTurn, LanguageModel, RunResult, SessionStore
from contracts.providers import BuildContext
from contracts.tools import ToolCall, ToolContext, ToolResult
from contracts.usage import Usage

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
ASSISTANT = AgentDescriptor(
    key="assistant",
    description="General.",
    instructions="You are helpful.",
    tools=("current_time", "calculator", "search_conversations"),
    handoffs=("concise",),
)
CONCISE = AgentDescriptor(key="concise", description="Short.", instructions="Be brief.")


class FakeCatalog:
    """Two agents, ``assistant`` (default) and ``concise``."""

    default_key = "assistant"

    def get(self, key: str) -> AgentDescriptor:
        for agent in self.all():
            if agent.key == key:
                return agent
        raise NotFound("agent", key)

    def all(self) -> list[AgentDescriptor]:
        return [ASSISTANT, CONCISE]


class ScriptedRuntime:
    """The scripted model behind the shared tool loop, as a turn on the scripted provider runs."""

    def __init__(self, model: ScriptedModel, tools: ToolRegistry) -> None:
        self.model = model
        self.loop = ToolLoopRuntime(tools, FakeCatalog())

    @property
    def active_streams(self) -> int:
        return self.model.active_streams

    async def run(self, agent_turn: AgentTurn) -> RunResult:
        return await self.loop.run(agent_turn, self.model)

    def stream(self, agent_turn: AgentTurn) -> AsyncIterator[RuntimeEvent]:
        return self.loop.stream(agent_turn, self.model)


def make_runtime(tools: ToolRegistry, token_delay_ms: float = 0.0) -> ScriptedRuntime:
    instance = KIND.build(
        BuildContext(name="scripted", tools=tools, catalog=FakeCatalog()),
        KIND.settings_from({"token_delay_ms": str(token_delay_ms)}),
    )
    assert isinstance(instance.model, ScriptedModel)
    return ScriptedRuntime(instance.model, tools)


@pytest.fixture
def tools(sessions: SessionStore, fixed_now: Callable[[], datetime]) -> ToolRegistry:
    return default_tools(sessions, now=fixed_now)


@pytest.fixture
def runtime(tools: ToolRegistry) -> ScriptedRuntime:
    return make_runtime(tools)


def turn(
    text: str, *, history: tuple[ConversationItem, ...] = (), agent: AgentDescriptor = ASSISTANT
) -> AgentTurn:
    return AgentTurn(agent=agent, history=history, input=text, context=ToolContext(tenant_id="tenant-a"))


async def collect(events: AsyncIterator[RuntimeEvent]) -> list[RuntimeEvent]:
    return [event async for event in events]


def test_build_describes_an_offline_instance_with_its_capabilities(tools: ToolRegistry) -> None:
    instance = KIND.build(BuildContext(name="demo", tools=tools, catalog=FakeCatalog()), ScriptedSettings())
    descriptor = instance.descriptor
    assert (descriptor.name, descriptor.kind, descriptor.default_model, descriptor.offline) == (
        "demo",
        "scripted",
        "scripted-1",
        True,
    )
    capabilities = descriptor.capabilities
    assert capabilities == ProviderCapabilities(
        streaming=True, tools=True, handoffs=True, realtime=True, embeddings=True
    )
    assert isinstance(instance.model, LanguageModel)
    assert instance.model.name == "demo"
    assert instance.realtime is not None


def test_settings_validation_names_the_variable() -> None:
    problems = KIND.validate("demo", ScriptedSettings(token_delay_ms=-1))
    assert problems == ["SWITCHBOARD_PROVIDER_DEMO_TOKEN_DELAY_MS must be >= 0"]


async def test_ping_is_healthy(tools: ToolRegistry) -> None:
    instance = KIND.build(BuildContext(name="demo", tools=tools, catalog=FakeCatalog()), ScriptedSettings())
    assert instance.ping is not None
    assert (await instance.ping()).ok


async def test_echo_streams_one_delta_per_token_then_usage_and_finish(runtime: ScriptedRuntime) -> None:
    events = await collect(runtime.stream(turn("hello   there  world")))
    deltas = [event.delta for event in events if isinstance(event, TextDelta)]
    assert deltas == ["You ", "said: ", "hello   ", "there  ", "world"]
    expected_usage = Usage(input_tokens=3 + 3, output_tokens=5, total_tokens=11)
    assert events[-2:] == [
        UsageReported(usage=expected_usage),
        RunFinished(
            output="You said: hello   there  world",
            usage=expected_usage,
            model="scripted-1",
            agent="assistant",
            provider="scripted",
        ),
    ]


async def test_answers_depend_on_the_prompt(runtime: ScriptedRuntime) -> None:
    first, second = await runtime.run(turn("one")), await runtime.run(turn("two"))
    assert first.output != second.output


async def test_usage_counts_instructions_history_and_input(runtime: ScriptedRuntime) -> None:
    history: tuple[ConversationItem, ...] = (
        UserMessage(id="u1", created_at=WHEN, text="a b c"),
        AssistantMessage(id="a1", created_at=WHEN, text="d e"),
    )
    result = await runtime.run(turn("f g", history=history))
    assert result.usage == Usage(input_tokens=3 + 5 + 2, output_tokens=4, total_tokens=14)


async def test_the_model_asked_for_is_reported(runtime: ScriptedRuntime) -> None:
    response = await runtime.model.complete(
        ModelRequest(messages=(UserPrompt.of("hi"),), model="scripted-large")
    )
    assert (response.model, response.provider) == ("scripted-large", "scripted")


async def test_every_tool_call_gets_a_fresh_id(runtime: ScriptedRuntime) -> None:
    first, second = await runtime.run(turn("what is 2 + 2")), await runtime.run(turn("what is 2 + 2"))
    ids = [step.call.call_id for step in (*first.steps, *second.steps) if isinstance(step, ToolCalled)]
    assert len(ids) == 2
    assert len(set(ids)) == 2
    assert all(call_id.startswith("call_") for call_id in ids)


async def test_recall_quotes_the_most_recent_user_message(runtime: ScriptedRuntime) -> None:
    history: tuple[ConversationItem, ...] = (
        UserMessage(id="u1", created_at=WHEN, text="my cat is Tom"),
        AssistantMessage(id="a1", created_at=WHEN, text="Nice."),
        UserMessage(id="u2", created_at=WHEN, text="my dog is Rex"),
        AssistantMessage(id="a2", created_at=WHEN, text="Cool."),
    )
    result = await runtime.run(turn("What did I say?", history=history))
    assert result.output == 'Earlier you said: "my dog is Rex"'


async def test_recall_without_history_says_it_is_the_start(runtime: ScriptedRuntime) -> None:
    assert (await runtime.run(turn("what did i say"))).output == "This is the start of our conversation."


async def test_arithmetic_calls_the_calculator(runtime: ScriptedRuntime) -> None:
    events = await collect(runtime.stream(turn("what is 2 + 3 * 4?")))
    called, output = events[:2]
    assert isinstance(called, ToolCalled)
    call_id = called.call.call_id
    assert called == ToolCalled(
        call=ToolCall(call_id=call_id, name="calculator", arguments={"expression": "2 + 3 * 4"})
    )
    assert output == ToolOutput(result=ToolResult(call_id=call_id, name="calculator", output="14"))
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.output == "The calculator says 14."
    assert "".join(event.delta for event in events if isinstance(event, TextDelta)) == finished.output


async def test_a_tool_error_is_reported_honestly(runtime: ScriptedRuntime) -> None:
    result = await runtime.run(turn("what is 1/0"))
    assert result.output == "The calculator could not work that out: division by zero."
    assert isinstance(result.steps[1], ToolOutput)
    assert result.steps[1].result.is_error


async def test_time_question_calls_current_time_with_the_zone(runtime: ScriptedRuntime) -> None:
    result = await runtime.run(turn("what time is it in Europe/Paris?"))
    called = result.steps[0]
    assert isinstance(called, ToolCalled)
    assert (called.call.name, called.call.arguments) == ("current_time", {"timezone": "Europe/Paris"})
    assert result.output == "The time in Europe/Paris is 2024-05-01T14:30:00+02:00 (Europe/Paris)."


async def test_time_question_without_a_zone_asks_for_utc(runtime: ScriptedRuntime) -> None:
    result = await runtime.run(turn("What time is it?"))
    assert result.output == "The time in UTC is 2024-05-01T12:30:00+00:00 (UTC)."


@pytest.mark.parametrize("text", ["search my conversations for Paris.", "find Paris in my conversations"])
async def test_search_phrases_call_search_conversations(
    runtime: ScriptedRuntime, sessions: SessionStore, text: str
) -> None:
    await sessions.append("tenant-a", "conv-1", [UserMessage(id="m1", created_at=WHEN, text="trip to Paris")])
    result = await runtime.run(turn(text))
    called = result.steps[0]
    assert isinstance(called, ToolCalled)
    assert (called.call.name, called.call.arguments) == ("search_conversations", {"query": "Paris"})
    assert result.output == "I found: [conv-1] trip to Paris"


async def test_tools_not_granted_to_the_agent_are_not_called(runtime: ScriptedRuntime) -> None:
    result = await runtime.run(turn("what is 2 + 2", agent=CONCISE))
    assert result.steps == ()
    assert result.output == "You said: what is 2 + 2"


@pytest.mark.parametrize("text", ["I have 3 apples", "born on 2024-05-01", "I had a good day"])
async def test_plain_text_calls_no_tool(runtime: ScriptedRuntime, text: str) -> None:
    result = await runtime.run(turn(text))
    assert result.steps == ()
    assert result.output == f"You said: {text}"


def test_importing_the_kind_does_not_load_the_runtime() -> None:
    code = (
        "import sys, adapters.providers.scripted; "
        "assert 'adapters.providers.scripted.model' not in sys.modules; "
        "assert 'adapters.providers.scripted.realtime' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_handoff_answers_as_the_target_agent(runtime: ScriptedRuntime) -> None:
    result = await runtime.run(turn("please transfer to concise"))
    assert result.steps == (AgentHandoff(from_agent="assistant", to_agent="concise"),)
    assert result.agent == "concise"
    assert result.output == "You said: please transfer to concise"


async def test_handoff_to_an_agent_not_listed_is_ignored(runtime: ScriptedRuntime) -> None:
    result = await runtime.run(turn("transfer to billing"))
    assert result.steps == ()
    assert result.agent == "assistant"


async def test_run_and_stream_agree(runtime: ScriptedRuntime) -> None:
    events = await collect(runtime.stream(turn("what is 6 * 7")))
    result = await runtime.run(turn("what is 6 * 7"))
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (result.output, result.usage, result.model, result.agent) == (
        finished.output,
        finished.usage,
        finished.model,
        finished.agent,
    )

    def without_ids(steps: list[RuntimeEvent]) -> list[tuple[str, str]]:
        return [
            (s.call.name, str(s.call.arguments))
            if isinstance(s, ToolCalled)
            else (s.result.name, s.result.output)
            for s in steps
            if isinstance(s, ToolCalled | ToolOutput)
        ]

    assert without_ids(list(result.steps)) == without_ids(events)


async def test_aclose_mid_stream_stops_during_the_pause(tools: ToolRegistry) -> None:
    runtime = make_runtime(tools, token_delay_ms=60_000)
    stream = runtime.stream(turn("a long answer with many words"))
    first = await anext(stream)
    assert first == TextDelta(delta="You ")
    assert runtime.active_streams == 1
    await asyncio.wait_for(stream.aclose(), timeout=1)
    assert runtime.active_streams == 0


async def test_cancelling_the_consumer_stops_the_stream_promptly(tools: ToolRegistry) -> None:
    runtime = make_runtime(tools, token_delay_ms=60_000)
    received: list[RuntimeEvent] = []
    first_event = asyncio.Event()

    async def consume() -> None:
        async for event in runtime.stream(turn("a long answer with many words")):
            received.append(event)
            first_event.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_event.wait(), timeout=1)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert done == {task}
    assert task.cancelled()
    assert runtime.active_streams == 0
    assert received == [TextDelta(delta="You ")]


async def test_cancelling_during_a_tool_call_cancels_the_tool() -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    class Arguments(msgspec.Struct):
        expression: str

    async def slow(_arguments: Arguments, _context: ToolContext) -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            finished.set()
        return "never"

    runtime = make_runtime(ToolRegistry([ToolDefinition("calculator", "Slow.", Arguments, slow)]))
    calculating = msgspec.structs.replace(ASSISTANT, tools=("calculator",), handoffs=())
    task = asyncio.create_task(runtime.run(turn("what is 1 + 1", agent=calculating)))
    await asyncio.wait_for(started.wait(), timeout=1)
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    assert task.cancelled()
    assert finished.is_set()
    assert runtime.active_streams == 0
