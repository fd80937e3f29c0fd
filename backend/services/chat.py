"""The chat service: one user turn, orchestrated over ports only (no Litestar, no svcs in here).

resolve agent and provider -> input guardrails (a block stops the turn before any provider call) ->
load history -> run or stream -> output guardrails -> store the turn atomically -> record usage.

A turn is stored whole: the user message, the tool calls and results, and the assistant message in one
``SessionStore.append``. A streamed turn that is cancelled (client gone) or fails midway is stored with the
assistant message marked ``cancelled``/``failed`` holding the text produced so far; such messages are kept
for the record but not sent back to providers as history.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from backend.services.background import BackgroundTasks
from backend.services.limits import Limits
from contracts.accounting import UsageRecord
from contracts.agents import AgentDescriptor, ProviderDescriptor
from contracts.auth import Principal
from contracts.chat import ChatRequest, ChatResult
from contracts.conversations import (
    AssistantMessage,
    ConversationItem,
    ToolCallItem,
    ToolResultItem,
    UserMessage,
)
from contracts.errors import DomainError, GuardrailBlocked, InvalidRequest, NotFound, ProviderUnavailable
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
from contracts.guardrails import GuardrailDecision, GuardrailPolicy
from contracts.ports import (
    AgentCatalog,
    AgentRuntime,
    AgentTurn,
    GuardrailChecker,
    GuardrailPolicyStore,
    ProviderDirectory,
    SessionStore,
    UsageRecorder,
)
from contracts.tools import ToolContext
from contracts.usage import Usage

log = structlog.get_logger("switchboard.chat")


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PreparedTurn:
    """A turn that passed input guardrails and is ready to run. Built by ``ChatService.prepare``."""

    principal: Principal
    conversation_id: str
    agent: AgentDescriptor
    provider: ProviderDescriptor
    runtime: AgentRuntime
    policy: GuardrailPolicy
    turn: AgentTurn
    user_item: UserMessage
    decisions: list[GuardrailDecision] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    stream_lease: str | None = None


@dataclass(slots=True)
class ChatOptions:
    history_limit: int = 50
    log_prompts: bool = False


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
        self._usage = usage
        self._options = options or ChatOptions()
        self._clock = clock
        self._background = background or BackgroundTasks()
        self._limits = limits

    # -- preparing ----------------------------------------------------------------------------------------

    async def prepare(
        self, principal: Principal, request: ChatRequest, *, streaming: bool = False
    ) -> PreparedTurn:
        """Resolve agent, provider and policy; check limits and the input; load history. Raises domain
        errors. A streaming turn holds a concurrent-stream slot until ``stream`` ends."""
        agent = self._agent(request.agent)
        provider_name = request.provider or agent.provider or self._providers.default
        try:
            descriptor = self._providers.descriptor(provider_name)
            runtime = self._providers.runtime(provider_name)
        except NotFound:
            field_name = "provider" if request.provider else "agent"
            raise InvalidRequest(
                f"provider {provider_name!r} is not enabled (enabled: {', '.join(self._providers.names())})",
                field=field_name,
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
        user_item = UserMessage(id=new_id(), created_at=self._clock(), text=outcome.text)
        turn = AgentTurn(
            agent=agent,
            history=tuple(_for_provider(history)),
            input=outcome.text,
            context=ToolContext(tenant_id=tenant, conversation_id=conversation_id),
            model=request.model,
        )
        lease = await self._limits.open_stream(principal) if streaming and self._limits else None
        return PreparedTurn(
            stream_lease=lease,
            principal=principal,
            conversation_id=conversation_id,
            agent=agent,
            provider=descriptor,
            runtime=runtime,
            policy=policy,
            turn=turn,
            user_item=user_item,
            decisions=list(outcome.decisions),
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

    # -- running ------------------------------------------------------------------------------------------

    async def chat(self, principal: Principal, request: ChatRequest) -> ChatResult:
        """Run one turn to the end (JSON API)."""
        prepared = await self.prepare(principal, request)
        try:
            result = await prepared.runtime.run(prepared.turn)
        except ProviderUnavailable:
            await self._record(
                prepared, Usage(), "failed", prepared.turn.model or prepared.provider.default_model
            )
            raise
        steps = [
            _step_item(step, self._clock()) for step in result.steps if not isinstance(step, AgentHandoff)
        ]
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
        """Output guardrails, then store the turn and record usage."""
        outcome = await self._checker.check(prepared.policy, "output", output)
        prepared.decisions.extend(outcome.decisions)
        if not outcome.allowed:
            await self._record(prepared, usage, "blocked", model)
            raise GuardrailBlocked(outcome.decisions[-1])
        answer = AssistantMessage(
            id=new_id(),
            created_at=self._clock(),
            text=outcome.text,
            agent=agent,
            provider=prepared.provider.name,
            model=model,
        )
        items: list[ConversationItem] = [prepared.user_item, *steps, answer]
        await self._sessions.append(prepared.principal.tenant_id, prepared.conversation_id, items)
        await self._record(prepared, usage, "completed", model)
        self._log_completed(prepared, usage, model, agent, output)
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
            if prepared.stream_lease is not None and self._limits is not None:
                self._background.spawn(self._limits.close_stream(prepared.principal, prepared.stream_lease))

    async def _stream_turn(self, prepared: PreparedTurn) -> AsyncGenerator[StreamEvent, None]:
        model = prepared.turn.model or prepared.provider.default_model
        yield RunStarted(
            conversation_id=prepared.conversation_id,
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
                        steps.append(_step_item(event, self._clock()))
                    yield event
        except (asyncio.CancelledError, GeneratorExit):
            self._background.spawn(self._store_partial(prepared, "".join(text), steps, "cancelled", model))
            raise
        except DomainError as exc:
            await self._store_partial(prepared, "".join(text), steps, "failed", model)
            yield Failed(conversation_id=prepared.conversation_id, error=exc.info())
            return
        if finished is None:
            await self._store_partial(prepared, "".join(text), steps, "failed", model)
            error = ProviderUnavailable(
                prepared.provider.name, "stream ended without a result", retryable=True
            )
            yield Failed(conversation_id=prepared.conversation_id, error=error.info())
            return
        try:
            result = await self._finish(
                prepared, finished.output, finished.usage, finished.model, finished.agent, steps
            )
        except GuardrailBlocked as exc:
            await self._store_partial(prepared, "", steps, "blocked", finished.model, record=False)
            yield Failed(conversation_id=prepared.conversation_id, error=exc.info())
            return
        except DomainError as exc:
            yield Failed(conversation_id=prepared.conversation_id, error=exc.info())
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

    async def _store_partial(
        self,
        prepared: PreparedTurn,
        text: str,
        steps: list[ConversationItem],
        status: str,
        model: str,
        *,
        record: bool = True,
    ) -> None:
        answer = AssistantMessage(
            id=new_id(),
            created_at=self._clock(),
            text=text,
            agent=prepared.agent.key,
            provider=prepared.provider.name,
            model=model,
            status=status,
        )
        try:
            await self._sessions.append(
                prepared.principal.tenant_id, prepared.conversation_id, [prepared.user_item, *steps, answer]
            )
            if record:
                await self._record(prepared, Usage(), status, model)
        except Exception:
            log.exception("chat.store_partial_failed", conversation_id=prepared.conversation_id)
        log.info("chat.ended", status=status, conversation_id=prepared.conversation_id)

    async def drain(self) -> None:
        """Wait for background work (partial turns of cancelled streams)."""
        await self._background.drain()

    # -- accounting ---------------------------------------------------------------------------------------

    async def _record(self, prepared: PreparedTurn, usage: Usage, status: str, model: str) -> None:
        await self._usage.record(
            UsageRecord(
                tenant_id=prepared.principal.tenant_id,
                key_id=prepared.principal.key_id,
                conversation_id=prepared.conversation_id,
                provider=prepared.provider.name,
                model=model,
                agent=prepared.agent.key,
                status=status,
                latency_ms=_ms_since(prepared.started),
                usage=usage,
                created_at=self._clock(),
            )
        )
        if self._limits is not None:
            await self._limits.charge_tokens(prepared.principal, usage.total_tokens)

    def _log_completed(
        self, prepared: PreparedTurn, usage: Usage, model: str, agent: str, output: str
    ) -> None:
        extra = {"prompt": prepared.turn.input, "answer": output} if self._options.log_prompts else {}
        log.info(
            "chat.completed",
            provider=prepared.provider.name,
            agent=agent,
            model=model,
            conversation_id=prepared.conversation_id,
            latency_ms=_ms_since(prepared.started),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            **extra,
        )


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _for_provider(items: list[ConversationItem]) -> list[ConversationItem]:
    """History as sent to a provider: assistant messages of unfinished turns are left out."""
    return [i for i in items if not (isinstance(i, AssistantMessage) and i.status != "completed")]


def _step_item(step: ToolCalled | ToolOutput, at: datetime) -> ConversationItem:
    if isinstance(step, ToolCalled):
        c = step.call
        return ToolCallItem(id=new_id(), created_at=at, call_id=c.call_id, name=c.name, arguments=c.arguments)
    r = step.result
    return ToolResultItem(
        id=new_id(), created_at=at, call_id=r.call_id, name=r.name, output=r.output, is_error=r.is_error
    )
