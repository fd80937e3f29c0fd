"""``OpenAIAgentRuntime``: the ``AgentRuntime`` port on the OpenAI Agents SDK.

History is neutral and owned by the service: each turn sends it as input (the SDK keeps no session).
Streaming maps SDK events to neutral ones; closing the stream or cancelling its consumer cancels the
SDK run (``result.cancel()``), which closes the upstream HTTP request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

import msgspec
from agents import RunConfig, Runner, TResponseInputItem, set_tracing_export_api_key

from adapters.providers.openai.agents.builder import AgentBuilder
from adapters.providers.openai.agents.mapping import (
    history_to_input,
    steps_of,
    stream_event_to_neutral,
    usage_from_sdk,
)
from adapters.providers.openai.agents.model import RUN_GUARD, RunGuard
from adapters.providers.openai.agents.tools import TurnContext
from adapters.providers.openai.client import ClientHolder
from adapters.providers.openai.errors import to_provider_error
from adapters.providers.openai.settings import OpenAISettings
from adapters.providers.openai.telemetry import install_tracing
from contracts.agents import ProviderDescriptor, ProviderHealth
from contracts.errors import ProviderUnavailable
from contracts.events import RunFinished, RuntimeEvent, UsageReported
from contracts.ports import AgentTurn, RunResult

PING_TIMEOUT_S = 5.0


def _output_text(final_output: Any) -> str:
    if isinstance(final_output, str):
        return final_output
    return msgspec.json.encode(final_output).decode()


def _input(turn: AgentTurn) -> list[TResponseInputItem]:
    return cast(list[TResponseInputItem], history_to_input(turn.history, turn.input))


def _model_of(agent: Any, default: str) -> str:
    return str(getattr(agent.model, "model", None) or default)


class OpenAIAgentRuntime:
    """Runs agent turns on one OpenAI (or OpenAI-compatible) provider instance."""

    def __init__(
        self,
        descriptor: ProviderDescriptor,
        settings: OpenAISettings,
        clients: ClientHolder,
        builder: AgentBuilder,
    ) -> None:
        self._descriptor = descriptor
        self._settings = settings
        self._clients = clients
        self._builder = builder
        if settings.tracing and settings.api_key:
            # Traces go to OpenAI's trace ingestion with this instance's key (process-wide setting).
            set_tracing_export_api_key(settings.api_key)
        install_tracing(export_to_openai=settings.tracing)
        self._run_config = RunConfig(
            tracing_disabled=False,  # spans go to our structlog processor; to OpenAI only if TRACING=true
            trace_include_sensitive_data=False,
            workflow_name=f"switchboard:{descriptor.name}",
        )

    @property
    def descriptor(self) -> ProviderDescriptor:
        return self._descriptor

    def _error(self, exc: BaseException) -> ProviderUnavailable:
        return to_provider_error(self._descriptor.name, exc, secret=self._settings.api_key)

    def _run_arguments(self, turn: AgentTurn, context: TurnContext) -> dict[str, Any]:
        """What ``Runner.run`` and ``Runner.run_streamed`` both take for one turn."""
        return {
            "starting_agent": self._builder.agent(turn.agent, turn.model),
            "input": _input(turn),
            "context": context,
            "max_turns": self._settings.max_turns,
            "run_config": self._run_config,
        }

    async def run(self, turn: AgentTurn) -> RunResult:
        """Run a turn to the end (each upstream call retried per the instance's policy)."""
        context = TurnContext(tool_context=turn.context)
        token = RUN_GUARD.set(RunGuard())
        try:
            result = await Runner.run(**self._run_arguments(turn, context))
        except Exception as exc:
            raise self._error(exc) from None
        finally:
            RUN_GUARD.reset(token)
        return RunResult(
            output=_output_text(result.final_output),
            usage=usage_from_sdk(result.context_wrapper.usage),
            model=_model_of(result.last_agent, self._settings.model),
            agent=result.last_agent.name,
            steps=steps_of(result.new_items, context.results),
        )

    async def stream(self, turn: AgentTurn) -> AsyncGenerator[RuntimeEvent, None]:
        """Yield neutral events, then ``UsageReported`` and ``RunFinished``. No retry once anything
        has been yielded; closing the iterator cancels the run and its upstream request."""
        context = TurnContext(tool_context=turn.context)
        guard = RunGuard()
        token = RUN_GUARD.set(guard)
        try:
            result = Runner.run_streamed(**self._run_arguments(turn, context))
        except Exception as exc:
            raise self._error(exc) from None
        finally:
            RUN_GUARD.reset(token)
        events = cast(AsyncGenerator[Any, None], result.stream_events())
        finished = False
        try:
            try:
                async for sdk_event in events:
                    neutral = stream_event_to_neutral(sdk_event, context.results)
                    if neutral is not None:
                        guard.output_committed = True
                        yield neutral
            except Exception as exc:
                raise self._error(exc) from None
            usage = usage_from_sdk(result.context_wrapper.usage)
            finished = True
            yield UsageReported(usage=usage)
            yield RunFinished(
                output=_output_text(result.final_output),
                usage=usage,
                model=_model_of(result.last_agent, self._settings.model),
                agent=result.last_agent.name,
            )
        finally:
            if not finished:
                result.cancel()
            await events.aclose()

    async def ping(self) -> ProviderHealth:
        """List the upstream's models (no tokens spent)."""
        try:
            await self._clients.get().models.list(timeout=PING_TIMEOUT_S)
        except Exception as exc:
            return ProviderHealth(ok=False, detail=self._error(exc).detail)
        return ProviderHealth(ok=True)
