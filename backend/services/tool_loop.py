"""``ToolLoopRuntime``: the shared, neutral agent engine (an ``AgentRuntime`` for every provider kind).

One turn: model call -> if it asks for tools, run them through the ``ToolRegistryPort`` (and follow a
handoff, offered to the model as a ``transfer_to_<agent>`` tool) -> model call ... -> the final answer,
within ``max_steps`` model calls. Streaming relays text deltas as they come; tool calls become
``ToolCalled``/``ToolOutput`` once complete. Usage is summed over the calls; the provider and model of the
last call, and every failed attempt, go into ``RunFinished``.

Each agent's plan (system prompt, tool specs including handoff tools, response format) is built once and
reused, so a codec sees the same tool tuple every call and can cache its encoding.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import msgspec

from backend.services.model_history import to_messages
from contracts.agents import AgentDescriptor
from contracts.errors import NotFound, ProviderUnavailable
from contracts.events import (
    AgentHandoff,
    RunFinished,
    RuntimeEvent,
    TextDelta,
    ToolCalled,
    ToolOutput,
    UsageReported,
)
from contracts.models import (
    Attempt,
    ModelDone,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelTextDelta,
    ResponseFormat,
    SystemPrompt,
    ToolReturn,
    UserPrompt,
)
from contracts.ports import AgentCatalog, AgentTurn, LanguageModel, RunResult, ToolRegistryPort
from contracts.tools import ToolCall, ToolSpec
from contracts.usage import Usage

HANDOFF_PREFIX = "transfer_to_"
_NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}
Step = ToolCalled | ToolOutput | AgentHandoff


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """What every model call of one agent carries."""

    agent: AgentDescriptor
    system: SystemPrompt
    tools: tuple[ToolSpec, ...]
    handoffs: dict[str, str]
    """Handoff tool name -> agent key."""
    response_format: ResponseFormat | None


@dataclass(slots=True)
class TurnState:
    """One turn in progress: the messages so far, the answering agent, usage and attempts."""

    plan: AgentPlan
    messages: list[ModelMessage]
    usage: Usage = field(default_factory=Usage)
    attempts: list[Attempt] = field(default_factory=list)
    last: ModelResponse | None = None

    def request(self) -> ModelRequest:
        return ModelRequest(
            messages=(self.plan.system, *self.messages),
            tools=self.plan.tools,
            response_format=self.plan.response_format,
        )

    def absorb(self, response: ModelResponse) -> None:
        self.usage = self.usage.plus(response.usage)
        self.attempts.extend(response.attempts)
        self.last = response

    def finished(self) -> RunFinished:
        last = self.last or ModelResponse()
        return RunFinished(
            output=last.text,
            usage=self.usage,
            model=last.model,
            agent=self.plan.agent.key,
            provider=last.provider,
            attempts=tuple(self.attempts),
        )


class ToolLoopRuntime:
    """Implements ``AgentRuntime`` over any ``LanguageModel``."""

    def __init__(self, tools: ToolRegistryPort, catalog: AgentCatalog, *, max_steps: int = 10) -> None:
        self._tools = tools
        self._catalog = catalog
        self._max_steps = max_steps
        self._plans: dict[str, AgentPlan] = {}

    # -- plans --------------------------------------------------------------------------------------------

    def plan(self, agent: AgentDescriptor) -> AgentPlan:
        cached = self._plans.get(agent.key)
        if cached is not None and cached.agent is agent:
            return cached
        specs = list(self._tools.specs(list(agent.tools))) if agent.tools else []
        handoffs: dict[str, str] = {}
        for key in agent.handoffs:
            name = f"{HANDOFF_PREFIX}{key.replace('-', '_')}"
            handoffs[name] = key
            specs.append(
                ToolSpec(name=name, description=self._handoff_description(key), parameters=_NO_ARGUMENTS)
            )
        response_format = (
            ResponseFormat(
                type="json_schema", name=f"{agent.key.replace('-', '_')}_output", schema=agent.output_schema
            )
            if agent.output_schema is not None
            else None
        )
        plan = AgentPlan(
            agent, SystemPrompt(text=agent.instructions), tuple(specs), handoffs, response_format
        )
        self._plans[agent.key] = plan
        return plan

    def _handoff_description(self, key: str) -> str:
        try:
            described = self._catalog.get(key).description
        except NotFound:
            described = ""
        return f"Hand the conversation to the {key} agent. {described}".strip()

    def _start(self, turn: AgentTurn) -> TurnState:
        messages = to_messages(turn.history)
        messages.append(UserPrompt.of(turn.input))
        return TurnState(plan=self.plan(turn.agent), messages=messages)

    # -- acting on tool calls -----------------------------------------------------------------------------

    async def _act(
        self, state: TurnState, turn: AgentTurn, response: ModelResponse
    ) -> AsyncGenerator[Step, None]:
        """Run the response's tool calls in order, yielding each step as it happens; follow the first
        handoff."""
        state.messages.append(response.as_message())
        handoff: tuple[ToolCall, str] | None = None
        for call in response.tool_calls:
            target = state.plan.handoffs.get(call.name)
            if target is not None:
                if handoff is None:
                    handoff = (call, target)
                else:
                    state.messages.append(_tool_return(call, "Ignored: one handoff per turn.", is_error=True))
                continue
            yield ToolCalled(call=call)
            result = await self._tools.invoke(call, turn.context)
            yield ToolOutput(result=result)
            state.messages.append(
                ToolReturn(
                    call_id=call.call_id, name=call.name, output=result.output, is_error=result.is_error
                )
            )
        if handoff is not None:
            call, key = handoff
            source = state.plan.agent.key
            state.plan = self.plan(self._catalog.get(key))
            state.messages.append(_tool_return(call, f"Transferred to {key}. Continue as {key}."))
            yield AgentHandoff(from_agent=source, to_agent=key)

    def _too_many_steps(self, model: LanguageModel) -> ProviderUnavailable:
        return ProviderUnavailable(
            model.name,
            f"the agent made {self._max_steps} model calls without a final answer",
            retryable=False,
            failure="malformed",
        )

    def _check_output(self, state: TurnState, model: LanguageModel) -> None:
        if state.plan.response_format is None or state.last is None:
            return
        try:
            msgspec.json.decode(state.last.text)
        except msgspec.DecodeError:
            raise ProviderUnavailable(
                state.last.provider or model.name,
                "the model's structured output is not valid JSON",
                retryable=False,
                failure="malformed",
            ) from None

    # -- the port -----------------------------------------------------------------------------------------

    async def run(self, turn: AgentTurn, model: LanguageModel) -> RunResult:
        state = self._start(turn)
        steps: list[Step] = []
        for _ in range(self._max_steps):
            response = await model.complete(state.request())
            state.absorb(response)
            if not response.tool_calls:
                self._check_output(state, model)
                done = state.finished()
                return RunResult(
                    output=done.output,
                    usage=done.usage,
                    model=done.model,
                    agent=done.agent,
                    steps=tuple(steps),
                    provider=done.provider,
                    attempts=done.attempts,
                )
            steps.extend([step async for step in self._act(state, turn, response)])
        raise self._too_many_steps(model)

    async def stream(self, turn: AgentTurn, model: LanguageModel) -> AsyncGenerator[RuntimeEvent, None]:
        state = self._start(turn)
        for _ in range(self._max_steps):
            response: ModelResponse | None = None
            events = model.stream(state.request())
            try:
                async for event in events:
                    if type(event) is ModelTextDelta:
                        yield TextDelta(delta=event.delta)
                    elif type(event) is ModelDone:
                        response = event.response
            finally:
                await events.aclose()
            if response is None:
                raise ProviderUnavailable(
                    model.name, "the stream ended without a result", retryable=True, failure="dropped"
                )
            state.absorb(response)
            if not response.tool_calls:
                self._check_output(state, model)
                done = state.finished()
                yield UsageReported(usage=done.usage)
                yield done
                return
            async for step in self._act(state, turn, response):
                yield step
        raise self._too_many_steps(model)


def _tool_return(call: ToolCall, output: str, *, is_error: bool = False) -> ToolReturn:
    return ToolReturn(call_id=call.call_id, name=call.name, output=output, is_error=is_error)
