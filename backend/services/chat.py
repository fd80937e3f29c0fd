"""The chat service: one user turn, orchestrated over ports only (no Litestar, no svcs in here).

resolve agent and provider -> input guardrails (a block stops the turn before any provider call) ->
load history -> run or stream -> output guardrails -> store the turn atomically -> record usage.

A turn is stored whole: the user message, the tool calls and results, and the assistant message in one
``SessionStore.append``, which is shielded from cancellation once started. A turn that does not complete
is stored with the assistant message marked ``cancelled`` (client gone), ``failed`` (provider or internal
error) or ``blocked`` (output guardrail), holding the text produced so far (empty when blocked); such
messages are kept for the record but not sent back to providers as history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime

import structlog

from backend.services.background import BackgroundTasks
from backend.services.limits import Limits
from backend.services.turns import (
    ChatOptions,
    PreparedTurn,
    TurnLedger,
    for_provider,
    new_id,
    step_item,
    utcnow,
)
from contracts.agents import AgentDescriptor
from contracts.auth import Principal
from contracts.chat import ChatRequest, ChatResult
from contracts.conversations import AssistantMessage, ConversationItem, UserMessage
from contracts.errors import (
    DomainError,
    ErrorInfo,
    GuardrailBlocked,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
)
from contracts.events import (
    AgentHandoff,
    Completed,
    Failed,
    RunFinished,
    RunStarted,
    StreamEvent,
    TextDelta,
    ToolCalled,
    ToolOutput,
)
from contracts.guardrails import GuardrailPolicy
from contracts.ports import (
    AgentCatalog,
    AgentTurn,
    GuardrailChecker,
    GuardrailPolicyStore,
    ProviderDirectory,
    SessionStore,
    UsageRecorder,
)
from contracts.tools import ToolContext
from contracts.usage import Usage

__all__ = ["ChatOptions", "ChatService", "PreparedTurn", "new_id"]
log = structlog.get_logger("switchboard.chat")


class ChatService:
    """Runs chat turns. Every collaborator is a port, passed in."""

    def __init__(
        self,
        *,
        catalog: AgentCatalog,
        providers: ProviderDirectory,
        sessions: SessionStore,
        policies: GuardrailPolicyStore,
        checker: GuardrailChecker,
        usage: UsageRecorder,
        background: BackgroundTasks | None = None,
        limits: Limits | None = None,
        options: ChatOptions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._catalog = catalog
        self._providers = providers
        self._sessions = sessions
        self._policies = policies
        self._checker = checker
        self._background = background or BackgroundTasks()
        self._limits = limits
        self._options = options or ChatOptions()
        self._clock = clock
        self._ledger = TurnLedger(usage, limits, clock, self._options.log_prompts)

    # -- preparing ----------------------------------------------------------------------------------------

    async def prepare(
        self, principal: Principal, request: ChatRequest, *, streaming: bool = False
    ) -> PreparedTurn:
        """Resolve agent, provider and policy; check limits and the input; load history. Raises domain
        errors. A streaming turn holds a concurrent-stream slot until ``stream`` ends (or ``abandon``)."""
        agent = self._agent(request.agent)
        provider_name = request.provider or agent.provider or self._providers.default
        try:
            descriptor = self._providers.descriptor(provider_name)
            runtime = self._providers.runtime(provider_name)
        except NotFound:
            raise InvalidRequest(
                f"provider {provider_name!r} is not enabled (enabled: {', '.join(self._providers.names())})",
                field="provider" if request.provider else "agent",
            ) from None
        tenant = principal.tenant_id
        policy = await self._policy(tenant, agent)
        outcome = await self._checker.check(policy, "input", request.message)
        if not outcome.allowed:
            log.info("guardrail.blocked", stage="input", policy=policy.name, rule=outcome.decisions[-1].rule)
            raise GuardrailBlocked(outcome.decisions[-1])
        if self._limits is not None:
            await self._limits.admit_tokens(principal)
        if request.conversation_id is None:  # a new conversation: nothing to load
            conversation_id, history = new_id(), []
        else:
            conversation_id = request.conversation_id
            history = await self._sessions.load_items(
                tenant, conversation_id, limit=self._options.history_limit
            )
        turn = AgentTurn(
            agent=agent,
            history=tuple(for_provider(history)),
            input=outcome.text,
            context=ToolContext(tenant_id=tenant, conversation_id=conversation_id),
            model=request.model,
        )
        lease = await self._limits.open_stream(principal) if streaming and self._limits else None
        return PreparedTurn(
            principal=principal,
            conversation_id=conversation_id,
            agent=agent,
            provider=descriptor,
            runtime=runtime,
            policy=policy,
            turn=turn,
            user_item=UserMessage(id=new_id(), created_at=self._clock(), text=outcome.text),
            decisions=list(outcome.decisions),
            stream_lease=lease,
        )

    def _agent(self, key: str | None) -> AgentDescriptor:
        try:
            return self._catalog.get(key or self._catalog.default_key)
        except NotFound:
            raise InvalidRequest(f"agent {key!r} is not in the catalog", field="agent") from None

    async def _policy(self, tenant: str, agent: AgentDescriptor) -> GuardrailPolicy:
        name = agent.guardrail_policy or "default"
        policy = await self._policies.get(tenant, name)
        return policy or GuardrailPolicy(name=name)

    def abandon(self, prepared: PreparedTurn) -> None:
        """Give back what ``prepare`` took when the turn will not be streamed after all."""
        if prepared.stream_lease is not None and self._limits is not None:
            self._background.spawn(self._limits.close_stream(prepared.principal, prepared.stream_lease))
            prepared.stream_lease = None

    # -- running ------------------------------------------------------------------------------------------

    async def chat(self, principal: Principal, request: ChatRequest) -> ChatResult:
        """Run one turn to the end (JSON API)."""
        prepared = await self.prepare(principal, request)
        model = prepared.turn.model or prepared.provider.default_model
        try:
            result = await prepared.runtime.run(prepared.turn)
        except ProviderUnavailable:
            await self._ledger.record(prepared, Usage(), "failed", model)
            raise
        steps = [step_item(s, self._clock()) for s in result.steps if not isinstance(s, AgentHandoff)]
        return await self._finish(prepared, result.output, result.usage, result.model, result.agent, steps)

    async def _finish(
        self,
        prepared: PreparedTurn,
        output: str,
        usage: Usage,
        model: str,
        agent: str,
        steps: list[ConversationItem],
    ) -> ChatResult:
        """Output guardrails, then store the turn (shielded) and account for it."""
        outcome = await self._checker.check(prepared.policy, "output", output)
        prepared.decisions.extend(outcome.decisions)
        if not outcome.allowed:
            await self._ledger.record(prepared, usage, "blocked", model)
            await self._store(prepared, "", steps, "blocked", model)
            raise GuardrailBlocked(outcome.decisions[-1])
        answer = self._answer(prepared, outcome.text, agent, model, "completed")
        items: list[ConversationItem] = [prepared.user_item, *steps, answer]
        await self._append(prepared, items)
        await self._ledger.record(prepared, usage, "completed", model)
        self._ledger.completed(prepared, usage, model, agent, output)
        return ChatResult(
            conversation_id=prepared.conversation_id,
            message_id=answer.id,
            output=outcome.text,
            agent=agent,
            provider=prepared.provider.name,
            model=model,
            offline=prepared.provider.offline,
            usage=usage,
            items=items,
            guardrails=prepared.decisions,
        )

    async def stream(self, prepared: PreparedTurn) -> AsyncIterator[StreamEvent]:
        """Stream one prepared turn: ``run.started``, deltas and tool events, then one terminal event.

        The terminal event is yielded only after the turn is stored. Cancellation (the consumer goes away)
        closes the provider stream and stores the partial turn in the background. The turn's
        concurrent-stream slot is released however the stream ends.
        """
        try:
            async with contextlib.aclosing(self._stream_turn(prepared)) as events:
                async for event in events:
                    yield event
        finally:
            self.abandon(prepared)

    async def _stream_turn(self, prepared: PreparedTurn) -> AsyncGenerator[StreamEvent, None]:
        model = prepared.turn.model or prepared.provider.default_model
        cid = prepared.conversation_id
        yield RunStarted(
            conversation_id=cid,
            agent=prepared.agent.key,
            provider=prepared.provider.name,
            model=model,
            offline=prepared.provider.offline,
        )
        text: list[str] = []
        steps: list[ConversationItem] = []
        finished: RunFinished | None = None
        try:
            async with contextlib.aclosing(prepared.runtime.stream(prepared.turn)) as events:
                async for event in events:
                    if isinstance(event, RunFinished):
                        finished = event
                        continue
                    if isinstance(event, TextDelta):
                        text.append(event.delta)
                    elif isinstance(event, ToolCalled | ToolOutput):
                        steps.append(step_item(event, self._clock()))
                    yield event
            if finished is None:
                raise ProviderUnavailable(
                    prepared.provider.name, "stream ended without a result", retryable=True
                )
            result = await self._finish(
                prepared, finished.output, finished.usage, finished.model, finished.agent, steps
            )
        except (asyncio.CancelledError, GeneratorExit):
            if not prepared.stored:
                self._background.spawn(self._store(prepared, "".join(text), steps, "cancelled", model))
            raise
        except DomainError as exc:
            if not prepared.stored:
                await self._store(prepared, "".join(text), steps, "failed", model)
            yield Failed(conversation_id=cid, error=exc.info())
            return
        except Exception as exc:  # an adapter bug: still a clean end and a consistent history
            log.error("chat.stream_failed", error=type(exc).__name__, conversation_id=cid, exc_info=exc)
            if not prepared.stored:
                await self._store(prepared, "".join(text), steps, "failed", model)
            info = ErrorInfo(
                code="internal", detail="the run failed unexpectedly; it has been logged", retryable=True
            )
            yield Failed(conversation_id=cid, error=info)
            return
        yield Completed(
            conversation_id=result.conversation_id,
            message_id=result.message_id,
            output=result.output,
            usage=result.usage,
            agent=result.agent,
            provider=result.provider,
            model=result.model,
        )

    # -- storing ------------------------------------------------------------------------------------------

    def _answer(
        self, prepared: PreparedTurn, text: str, agent: str, model: str, status: str
    ) -> AssistantMessage:
        return AssistantMessage(
            id=new_id(),
            created_at=self._clock(),
            text=text,
            agent=agent,
            provider=prepared.provider.name,
            model=model,
            status=status,
        )

    async def _append(self, prepared: PreparedTurn, items: list[ConversationItem]) -> None:
        """Store the turn's items once; a cancellation of the caller does not cancel the write."""
        prepared.stored = True
        await asyncio.shield(
            self._sessions.append(prepared.principal.tenant_id, prepared.conversation_id, items)
        )

    async def _store(
        self, prepared: PreparedTurn, text: str, steps: list[ConversationItem], status: str, model: str
    ) -> None:
        """Store an unfinished turn (cancelled, failed, blocked); never raises."""
        answer = self._answer(prepared, text, prepared.agent.key, model, status)
        try:
            await self._append(prepared, [prepared.user_item, *steps, answer])
            if status != "blocked":  # a blocked turn was accounted for with its real usage
                await self._ledger.record(prepared, Usage(), status, model)
        except Exception:
            log.exception("chat.store_partial_failed", conversation_id=prepared.conversation_id)
        log.info("chat.ended", status=status, conversation_id=prepared.conversation_id)

    async def drain(self) -> None:
        """Wait for background work (partial turns of cancelled streams)."""
        await self._background.drain()
