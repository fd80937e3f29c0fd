"""``AgentsSdkRuntime``: the ``AgentRuntime`` port on the OpenAI Agents SDK, over any ``LanguageModel``.

Agent graphs are built once per agent and shared; each turn gets a ``TurnState`` (the SDK run context)
and a ``SwitchboardModel`` over the turn's ``LanguageModel`` in its ``RunConfig``, so the same graph runs
on whatever route the turn resolved to. History is neutral and owned by the service: each turn sends it
as input (the SDK keeps no session). Streaming maps SDK events to neutral ones; closing the stream or
cancelling its consumer cancels the SDK run (``result.cancel()``), which closes the model stream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Iterator
from typing import Any, cast

import msgspec
from agents import MaxTurnsExceeded, ModelBehaviorError, RunConfig, Runner, TResponseInputItem

from adapters.providers.openai.agents.builder import AgentGraphs
from adapters.providers.openai.agents.mapping import StepMapper, history_results, history_to_input
from adapters.providers.openai.agents.model import SwitchboardModel
from adapters.providers.openai.agents.model_request import RequestParts
from adapters.providers.openai.agents.turn_state import TurnState
from adapters.providers.openai.telemetry import install_tracing
from contracts.errors import ProviderUnavailable
from contracts.events import RunFinished, RuntimeEvent, UsageReported
from contracts.ports import AgentCatalog, AgentTurn, LanguageModel, RunResult, ToolRegistryPort

_ENGINE_FAILURES: dict[type[BaseException], tuple[str, str]] = {
    MaxTurnsExceeded: ("the agent exceeded its step limit without a final answer", "server_error"),
    ModelBehaviorError: ("the model produced an answer the agent could not use", "malformed"),
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def engine_error(provider: str, exc: Exception) -> ProviderUnavailable:
    """The domain error for a failed run: a ``ProviderUnavailable`` raised below (possibly wrapped by
    the SDK) as it was raised; SDK failures as non-retryable ``ProviderUnavailable`` with a fixed
    phrase (never the SDK's message, which may quote the model's output)."""
    for cause in _chain(exc):
        if isinstance(cause, ProviderUnavailable):
            return cause
    for cause in _chain(exc):
        for kind, (detail, failure) in _ENGINE_FAILURES.items():
            if isinstance(cause, kind):
                return ProviderUnavailable(provider, detail, retryable=False, failure=failure)
    return ProviderUnavailable(
        provider, f"the agent engine failed ({type(exc).__name__})", retryable=False, failure="server_error"
    )


def _output_text(final_output: Any) -> str:
    if isinstance(final_output, str):
        return final_output
    return msgspec.json.encode(final_output).decode()


class AgentsSdkRuntime:
    """Runs agent turns through the OpenAI Agents SDK over the ``LanguageModel`` each turn names.

    ``max_turns``: model calls allowed in one turn (tool loops, handoffs). ``tracing``: create SDK
    traces. Constructing a runtime installs our span processor (``telemetry.install_tracing``), so
    spans never reach OpenAI's exporter unless an instance asked for it; spans carry no prompt text.
    """

    def __init__(
        self, catalog: AgentCatalog, tools: ToolRegistryPort, *, max_turns: int, tracing: bool = True
    ) -> None:
        self._graphs = AgentGraphs(catalog, tools)
        self._parts = RequestParts()
        self._max_turns = max_turns
        install_tracing(export_to_openai=False)
        self._config = RunConfig(
            tracing_disabled=not tracing,
            trace_include_sensitive_data=False,
            workflow_name="switchboard.agents_sdk",
        )

    def _arguments(self, turn: AgentTurn, model: LanguageModel, state: TurnState) -> dict[str, Any]:
        """What ``Runner.run`` and ``Runner.run_streamed`` both take for one turn."""
        sdk_model = SwitchboardModel(model, turn=state, parts=self._parts)
        return {
            "starting_agent": self._graphs.agent(turn.agent),
            "input": cast(list[TResponseInputItem], history_to_input(turn.history, turn.input)),
            "context": state,
            "max_turns": self._max_turns,
            "run_config": dataclasses.replace(self._config, model=sdk_model),
        }

    @staticmethod
    def _state(turn: AgentTurn) -> TurnState:
        return TurnState(tool_context=turn.context, results=history_results(turn.history))

    async def run(self, turn: AgentTurn, model: LanguageModel) -> RunResult:
        """Run a turn to the end. Raises ``ProviderUnavailable``."""
        state = self._state(turn)
        steps = StepMapper(state.results)
        arguments = self._arguments(turn, model, state)
        try:
            result = await Runner.run(**arguments)
        except Exception as exc:
            raise engine_error(model.name, exc) from None
        return RunResult(
            output=_output_text(result.final_output),
            usage=state.usage,
            model=state.model,
            agent=result.last_agent.name,
            steps=steps.steps(result.new_items),
            provider=state.provider or model.name,
            attempts=tuple(state.attempts),
        )

    async def stream(self, turn: AgentTurn, model: LanguageModel) -> AsyncGenerator[RuntimeEvent, None]:
        """Yield neutral events, then ``UsageReported`` and ``RunFinished``. Closing the iterator
        cancels the run and its model stream."""
        state = self._state(turn)
        mapper = StepMapper(state.results)
        arguments = self._arguments(turn, model, state)
        try:
            result = Runner.run_streamed(**arguments)
        except Exception as exc:
            raise engine_error(model.name, exc) from None
        events = cast(AsyncGenerator[Any, None], result.stream_events())
        finished = False
        try:
            try:
                async for sdk_event in events:
                    neutral = mapper.event(sdk_event)
                    if neutral is not None:
                        yield neutral
            except Exception as exc:
                raise engine_error(model.name, exc) from None
            finished = True
            yield UsageReported(usage=state.usage)
            yield RunFinished(
                output=_output_text(result.final_output),
                usage=state.usage,
                model=state.model,
                agent=result.last_agent.name,
                provider=state.provider or model.name,
                attempts=tuple(state.attempts),
            )
        finally:
            if not finished:
                result.cancel()
            await events.aclose()
