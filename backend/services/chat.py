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
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime

import structlog

from backend.services.background import BackgroundTasks
from backend.services.budgets import Budgets, Reservation
from backend.services.call_ledger import CallLedger
from backend.services.limits import Limits
from backend.services.output_screen import OutputScreen
from backend.services.stream_starts import StreamStarts
from backend.services.turns import (
    Answered,
    ChatOptions,
    PreparedTurn,
    TurnLedger,
    for_provider,
    new_id,
    step_item,
    utcnow,
)
from backend.telemetry.call_log import LogCallSink
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
from contracts.models import Attempt
from contracts.ports import (
    AgentCatalog,
    AgentTurn,
    GuardrailChecker,
    GuardrailPolicyStore,
    ProviderDirectory,
    SessionStore,
    UsageRecorder,
)
from contracts.pricing import PriceBook
from contracts.telemetry import CallSink, Outcome
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
        sink: CallSink | None = None,
        prices: PriceBook | None = None,
        budgets: Budgets | None = None,
        starts: StreamStarts | None = None,
    ) -> None:
        self._catalog = catalog
        self._starts = starts or StreamStarts(0)
        self._providers = providers
        self._sessions = sessions
        self._policies = policies
        self._checker = checker
        self._background = background or BackgroundTasks()
        self._limits = limits
        self._options = options or ChatOptions()
        self._clock = clock
        self._sink = sink or LogCallSink()
        self._budgets = budgets
        self._ledger = TurnLedger(
            CallLedger(usage, self._sink, limits, clock, prices, budgets), self._options.log_prompts
        )

    # -- preparing ----------------------------------------------------------------------------------------

    async def prepare(
        self, principal: Principal, request: ChatRequest, *, streaming: bool = False
    ) -> PreparedTurn:
        """Resolve agent, provider and policy; check limits and the input; load history. Raises domain
        errors. A streaming turn holds a concurrent-stream slot until ``stream`` ends (or ``abandon``), and
        first waits for a start slot, held until its setup is over (``StreamStarts``)."""
        if not streaming:
            return await self._prepare(principal, request, streaming=False)
        prepared, slot = await self._starts.admit(
            lambda: self._prepare(principal, request, streaming=True)
        )
        prepared.start_slot = slot
        return prepared

    async def _prepare(self, principal: Principal, request: ChatRequest, *, streaming: bool) -> PreparedTurn:
        agent = self._agent(request.agent)
        target = self._providers.target(provider=request.provider, model=request.model, agent=agent)
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
        )
        budget = await self._budgets.reserve(principal) if self._budgets is not None else None
        try:
            lease = await self._limits.open_stream(principal) if streaming and self._limits else None
        except BaseException:
            self._release(budget)
            raise
        return PreparedTurn(
            principal=principal,
            conversation_id=conversation_id,
            agent=agent,
            target=target,
            policy=policy,
            turn=turn,
            user_item=UserMessage(id=new_id(), created_at=self._clock(), text=outcome.text),
            decisions=list(outcome.decisions),
            stream_lease=lease,
            budget=budget,
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
        prepared.start_slot.release()
        if prepared.stream_lease is not None and self._limits is not None:
            self._background.spawn(self._limits.close_stream(prepared.principal, prepared.stream_lease))
            prepared.stream_lease = None
        self._release(prepared.budget)

    def _release(self, budget: Reservation | None) -> None:
        """A reservation whose call will not be reported gives its estimate back (in the background)."""
        if budget is not None and not budget.settled and self._budgets is not None:
            self._background.spawn(self._budgets.settle(budget, 0.0))

    # -- running ------------------------------------------------------------------------------------------

    async def chat(self, principal: Principal, request: ChatRequest) -> ChatResult:
        """Run one turn to the end (JSON API)."""
        prepared = await self.prepare(principal, request)
        target = prepared.target
        try:
            result = await target.runtime.run(prepared.turn, target.model)
        except (
            Exception
        ) as exc:  # a provider failure or an adapter bug: stored as a failed stream is (docs/errors.md)
            attempts = exc.attempts if isinstance(exc, ProviderUnavailable) else ()
            await self._store(
                prepared, "", [], "failed", target.model_name, attempts=attempts, error=_error_of(exc)
            )
            raise
        steps = [step_item(s, self._clock()) for s in result.steps if not isinstance(s, AgentHandoff)]
        answered = Answered(
            provider=result.provider or target.provider.name,
            model=result.model or target.model_name,
            agent=result.agent,
            attempts=result.attempts,
        )
        return await self._finish(prepared, result.output, result.usage, answered, steps)

    async def _finish(
        self,
        prepared: PreparedTurn,
        output: str,
        usage: Usage,
        answered: Answered,
        steps: list[ConversationItem],
    ) -> ChatResult:
        """Output guardrails, then store the turn (shielded) and account for it."""
        outcome = await self._checker.check(prepared.policy, "output", output)
        prepared.decisions.extend(outcome.decisions)
        model, provider = answered.model, answered.provider
        if not outcome.allowed:
            await self._ledger.record(
                prepared, usage, "blocked", model, provider=provider, attempts=answered.attempts
            )
            await self._store(prepared, "", steps, "blocked", model, provider=provider)
            raise GuardrailBlocked(outcome.decisions[-1])
        answer = self._answer(prepared, outcome.text, answered.agent, model, "completed", provider)
        items: list[ConversationItem] = [prepared.user_item, *steps, answer]
        await self._append(prepared, items)
        await self._ledger.record(
            prepared, usage, "completed", model, provider=provider, attempts=answered.attempts
        )
        self._ledger.text(prepared, output)
        return ChatResult(
            conversation_id=prepared.conversation_id,
            message_id=answer.id,
            output=outcome.text,
            agent=answered.agent,
            provider=provider,
            model=model,
            offline=self._offline(provider),
            usage=usage,
            items=items,
            guardrails=prepared.decisions,
            route=prepared.target.route,
            attempts=list(answered.attempts),
        )

    def _offline(self, provider: str) -> bool:
        try:
            return self._providers.descriptor(provider).offline
        except NotFound:
            return False

    async def stream(self, prepared: PreparedTurn) -> AsyncIterator[StreamEvent]:
        """Stream one prepared turn: ``run.started``, deltas and tool events, then one terminal event.

        The terminal event is yielded only after the turn is stored. Cancellation (the consumer goes away)
        closes the provider stream and stores the partial turn in the background. The turn's
        concurrent-stream slot is released however the stream ends.
        """
        prepared.streamed = True
        self._sink.stream_opened("chat")
        try:
            async with contextlib.aclosing(self._stream_turn(prepared)) as events:
                async for event in events:
                    yield event
        finally:
            self._sink.stream_closed("chat")
            self.abandon(prepared)

    async def _stream_turn(self, prepared: PreparedTurn) -> AsyncGenerator[StreamEvent, None]:
        target = prepared.target
        model = target.model_name
        cid = prepared.conversation_id
        yield RunStarted(
            conversation_id=cid,
            agent=prepared.agent.key,
            provider=target.provider.name,
            model=model,
            offline=target.provider.offline,
            route=target.route,
        )
        text: list[str] = []
        steps: list[ConversationItem] = []
        finished: RunFinished | None = None
        screen = OutputScreen(self._checker.output_filter(prepared.policy))  # streamed output rules
        try:
            async with contextlib.aclosing(target.runtime.stream(prepared.turn, target.model)) as events:
                async for event in events:
                    prepared.start_slot.release()  # the model answers: this turn's setup is over
                    if isinstance(event, RunFinished):
                        finished = event
                        continue
                    if isinstance(event, TextDelta):
                        if prepared.first_output is None:
                            prepared.first_output = time.perf_counter()
                        text.append(event.delta)
                        released = screen.admit(event.delta)  # raises GuardrailBlocked
                        if not released:
                            continue
                        event = event if released == event.delta else TextDelta(delta=released)
                    elif isinstance(event, ToolCalled | ToolOutput):
                        steps.append(step_item(event, self._clock()))
                    yield event
            if finished is None:
                raise ProviderUnavailable(
                    target.provider.name, "stream ended without a result", retryable=True, failure="dropped"
                )
            answered = Answered(
                provider=finished.provider or target.provider.name,
                model=finished.model or model,
                agent=finished.agent,
                attempts=finished.attempts,
            )
            result = await self._finish(prepared, finished.output, finished.usage, answered, steps)
        except (asyncio.CancelledError, GeneratorExit):
            if not prepared.stored:
                partial = screen.partial("".join(text))  # never more than the client was allowed to see
                self._background.spawn(
                    self._store(prepared, partial, steps, "cancelled", model, error="client_gone")
                )
            raise
        except DomainError as exc:
            attempts = exc.attempts if isinstance(exc, ProviderUnavailable) else ()
            if not prepared.stored:
                blocked = isinstance(exc, GuardrailBlocked)  # by a streamed output rule
                status: Outcome = "blocked" if blocked else "failed"
                partial = "" if blocked else screen.partial("".join(text))
                await self._store(
                    prepared, partial, steps, status, model, attempts=attempts, error=_error_of(exc)
                )
            yield Failed(conversation_id=cid, error=exc.info(), attempts=attempts)
            return
        except Exception as exc:  # an adapter bug: still a clean end and a consistent history
            log.error("chat.stream_failed", error=type(exc).__name__, conversation_id=cid, exc_info=exc)
            if not prepared.stored:
                partial = screen.partial("".join(text))
                await self._store(prepared, partial, steps, "failed", model, error="internal")
            info = ErrorInfo(
                code="internal", detail="the run failed unexpectedly; it has been logged", retryable=True
            )
            yield Failed(conversation_id=cid, error=info)
            return
        tail = screen.rest(result.output)
        if tail:
            yield TextDelta(delta=tail)
        yield Completed(
            conversation_id=result.conversation_id,
            message_id=result.message_id,
            output=result.output,
            usage=result.usage,
            agent=result.agent,
            provider=result.provider,
            model=result.model,
            attempts=tuple(result.attempts),
        )

    # -- storing ------------------------------------------------------------------------------------------

    def _answer(
        self,
        prepared: PreparedTurn,
        text: str,
        agent: str,
        model: str,
        status: str,
        provider: str | None = None,
    ) -> AssistantMessage:
        return AssistantMessage(
            id=new_id(),
            created_at=self._clock(),
            text=text,
            agent=agent,
            provider=provider or prepared.target.provider.name,
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
        self,
        prepared: PreparedTurn,
        text: str,
        steps: list[ConversationItem],
        status: Outcome,
        model: str,
        *,
        provider: str | None = None,
        attempts: tuple[Attempt, ...] = (),
        error: str = "",
    ) -> None:
        """Store an unfinished turn (cancelled, failed, blocked); never raises."""
        answer = self._answer(prepared, text, prepared.agent.key, model, status, provider)
        try:
            await self._append(prepared, [prepared.user_item, *steps, answer])
        except Exception:
            log.exception("chat.store_partial_failed", conversation_id=prepared.conversation_id)
        if not prepared.reported:  # a turn blocked after it finished was reported with its real usage
            await self._ledger.record(prepared, Usage(), status, model, attempts=attempts, error=error)

    async def drain(self) -> None:
        """Wait for background work (partial turns of cancelled streams)."""
        await self._background.drain()


def _error_of(exc: BaseException) -> str:
    """The error class a report names: the failure class of a provider failure, else the error code."""
    if isinstance(exc, ProviderUnavailable):
        return exc.failure or "unavailable"
    return exc.info().code if isinstance(exc, DomainError) else "internal"
