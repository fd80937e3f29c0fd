"""The completion service: one stateless model call for the protocol surfaces (OpenAI Chat Completions,
Responses, Anthropic Messages), over ports only.

Same rules as a chat turn: the tenant's ``default`` guardrail policy on every user text before anything is
sent (a block stops the call; redactions are applied to the request), the key's token budget and stream
slots, routing with retries and fallback, output guardrails on the answer (streamed answers delta by
delta), usage recorded once per call. A surface hands in both the neutral ``ModelRequest`` and, when the
client's body can go through as is, a ``WireCall``: a deployment speaking that protocol gets the body
(pass-through), any other the neutral request. When input redaction changed the request, or output rules
must rewrite the answer, pass-through is off for that call (the bytes would not be what we checked).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
import structlog

from backend.services.background import BackgroundTasks
from backend.services.budgets import Budgets, Reservation
from backend.services.call_ledger import CallLedger
from backend.services.limits import Limits
from backend.services.stream_starts import UNGATED, StartSlot, StreamStarts
from backend.services.turns import new_id, utcnow
from backend.telemetry.call_log import LogCallSink
from contracts.auth import Principal
from contracts.conversations import AssistantMessage, ConversationItem, UserMessage
from contracts.errors import GuardrailBlocked, ProviderUnavailable
from contracts.guardrails import GuardrailDecision, GuardrailPolicy
from contracts.models import (
    Attempt,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelDone,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ModelTextDelta,
    TextPart,
    UserPrompt,
    WireAnswer,
    WireCall,
    WireFrame,
)
from contracts.ports import (
    GuardrailChecker,
    GuardrailPolicyStore,
    ModelRoute,
    ProviderDirectory,
    SessionStore,
    UsageRecorder,
)
from contracts.pricing import PriceBook
from contracts.telemetry import CallEnded, CallSink, Outcome
from contracts.usage import Usage

log = structlog.get_logger("switchboard.completions")
_replace = msgspec.structs.replace


@dataclass(slots=True)
class PreparedCall:
    """A call that passed input guardrails and limits, with its route. ``wire`` is None when the body
    may not go through as is."""

    principal: Principal
    surface: str
    route: ModelRoute
    request: ModelRequest
    wire: WireCall | None
    policy: GuardrailPolicy
    decisions: list[GuardrailDecision]
    store: bool = False
    started: float = field(default_factory=time.perf_counter)
    stream_lease: str | None = None
    conversation_id: str | None = None
    budget: Reservation | None = None
    streamed: bool = False
    first_output: float | None = None
    """``perf_counter`` of the first streamed event (time to first token)."""
    start_slot: StartSlot = UNGATED
    """A streamed call's place among the starting ones (``StreamStarts``), given back when its request
    goes upstream, at its first event, or at its end."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A finished call: the neutral response (output guardrails applied to ``text``), and the
    upstream's own bytes when it was a pass-through whose text went out unchanged."""

    response: ModelResponse
    body: bytes | None = None


class CompletionService:
    """Runs stateless model calls. Every collaborator is a port, passed in."""

    def __init__(
        self,
        *,
        providers: ProviderDirectory,
        policies: GuardrailPolicyStore,
        checker: GuardrailChecker,
        usage: UsageRecorder,
        sessions: SessionStore,
        background: BackgroundTasks | None = None,
        limits: Limits | None = None,
        clock: Callable[[], datetime] = utcnow,
        sink: CallSink | None = None,
        prices: PriceBook | None = None,
        budgets: Budgets | None = None,
        starts: StreamStarts | None = None,
    ) -> None:
        self._providers = providers
        self._starts = starts or StreamStarts(0)
        self._policies = policies
        self._checker = checker
        self._sessions = sessions
        self._background = background or BackgroundTasks()
        self._limits = limits
        self._clock = clock
        self._sink = sink or LogCallSink()
        self._budgets = budgets
        self._calls = CallLedger(usage, self._sink, limits, clock, prices, budgets)

    # -- preparing ----------------------------------------------------------------------------------------

    async def prepare(
        self,
        principal: Principal,
        request: ModelRequest,
        model: str | None,
        *,
        surface: str,
        wire: WireCall | None = None,
        streaming: bool = False,
        store: bool = False,
    ) -> PreparedCall:
        """Route, check the input and the limits. Raises domain errors (a block: ``GuardrailBlocked``).
        A streamed call first waits for a start slot (``StreamStarts``), held until its setup is over."""
        if not streaming:
            return await self._prepare(principal, request, model, surface, wire, False, store)
        call, slot = await self._starts.admit(
            lambda: self._prepare(principal, request, model, surface, wire, True, store)
        )
        call.start_slot = slot
        return call

    async def _prepare(
        self,
        principal: Principal,
        request: ModelRequest,
        model: str | None,
        surface: str,
        wire: WireCall | None,
        streaming: bool,
        store: bool,
    ) -> PreparedCall:
        route = self._providers.route(model)
        policy = await self._policies.get(principal.tenant_id, "default") or GuardrailPolicy(name="default")
        request, decisions, changed = await self._checked_input(policy, request)
        if self._limits is not None:
            await self._limits.admit_tokens(principal)
        budget = await self._budgets.reserve(principal) if self._budgets is not None else None
        try:
            lease = await self._limits.open_stream(principal) if streaming and self._limits else None
        except BaseException:
            self._release(budget)
            raise
        return PreparedCall(
            principal=principal,
            surface=surface,
            route=route,
            request=request,
            wire=None if changed else wire,
            policy=policy,
            decisions=decisions,
            store=store,
            stream_lease=lease,
            budget=budget,
        )

    async def _checked_input(
        self, policy: GuardrailPolicy, request: ModelRequest
    ) -> tuple[ModelRequest, list[GuardrailDecision], bool]:
        decisions: list[GuardrailDecision] = []
        messages = list(request.messages)
        changed = False
        for index, message in enumerate(messages):
            if not isinstance(message, UserPrompt):
                continue
            parts = list(message.content)
            for at, part in enumerate(parts):
                if not isinstance(part, TextPart) or not part.text:
                    continue
                outcome = await self._checker.check(policy, "input", part.text)
                decisions.extend(outcome.decisions)
                if not outcome.allowed:
                    log.info("guardrail.blocked", stage="input", policy=policy.name, surface="completions")
                    raise GuardrailBlocked(outcome.decisions[-1])
                if outcome.text != part.text:
                    parts[at], changed = TextPart(text=outcome.text), True
            messages[index] = UserPrompt(content=tuple(parts))
        if changed:
            request = _replace(request, messages=tuple(messages))
        return request, decisions, changed

    def abandon(self, call: PreparedCall) -> None:
        """Give back what ``prepare`` took when the call will not run after all."""
        call.start_slot.release()
        if call.stream_lease is not None and self._limits is not None:
            self._background.spawn(self._limits.close_stream(call.principal, call.stream_lease))
            call.stream_lease = None
        self._release(call.budget)

    def _release(self, budget: Reservation | None) -> None:
        """A reservation whose call will not be reported gives its estimate back (in the background)."""
        if budget is not None and not budget.settled and self._budgets is not None:
            self._background.spawn(self._budgets.settle(budget, 0.0))

    # -- running ------------------------------------------------------------------------------------------

    async def complete(self, call: PreparedCall) -> Answer:
        """One whole answer (pass-through when the route's deployment speaks the client's protocol)."""
        try:
            if call.wire is not None:
                answered = await call.route.model.forward(call.wire, call.request)
            else:
                answered = await call.route.model.complete(call.request)
        except ProviderUnavailable as exc:
            await self._failed(call, exc)
            raise
        body = answered.body if isinstance(answered, WireAnswer) else None
        response = answered.response if isinstance(answered, WireAnswer) else answered
        outcome = await self._checker.check(call.policy, "output", response.text)
        call.decisions.extend(outcome.decisions)
        if not outcome.allowed:
            await self._record(call, response, "blocked", error="guardrail_blocked")
            raise GuardrailBlocked(outcome.decisions[-1])
        if outcome.text != response.text:
            response, body = _replace(response, text=outcome.text), None
        await self._finish(call, response, "completed")
        return Answer(response=response, body=body)

    async def stream(self, call: PreparedCall) -> AsyncGenerator[WireFrame | ModelEvent, None]:
        """Events (pass-through frames or neutral events) as they come, output rules applied; ends with
        a ``ModelDone`` (alone, or in the last frame). Failures raise (``ProviderUnavailable``,
        ``GuardrailBlocked``); the surface turns them into its protocol's terminal error."""
        screen = self._checker.output_filter(call.policy)
        model = call.route.model
        events = (
            model.forward_stream(call.wire, call.request)
            if call.wire and screen is None
            else model.stream(call.request)
        )
        text: list[str] = []
        finished = False
        call.streamed = True
        self._sink.stream_opened(call.surface)
        try:
            async for event in events:
                done = _done_of(event)
                if call.first_output is None:
                    call.first_output = time.perf_counter()
                    call.start_slot.release()  # the model answers: this call's setup is over
                if done is None:
                    if screen is not None and type(event) is ModelTextDelta:
                        released = screen.feed(event.delta)
                        if released:
                            text.append(released)
                            yield ModelTextDelta(delta=released)
                        continue
                    yield event
                    continue
                response = done.response
                if screen is not None:
                    rest = screen.finish()
                    if rest:
                        text.append(rest)
                        yield ModelTextDelta(delta=rest)
                    response = _replace(response, text="".join(text))
                outcome = await self._checker.check(call.policy, "output", response.text)
                call.decisions.extend(outcome.decisions)
                if not outcome.allowed:
                    finished = True
                    await self._record(call, response, "blocked", error="guardrail_blocked")
                    raise GuardrailBlocked(outcome.decisions[-1])
                await self._finish(call, response, "completed")
                finished = True
                yield event if screen is None and type(event) is WireFrame else ModelDone(response=response)
                return
        except ProviderUnavailable as exc:
            finished = True
            await self._failed(call, exc)
            raise
        except GuardrailBlocked:
            if not finished:
                finished = True
                await self._record(call, None, "blocked", error="guardrail_blocked")
            raise
        except Exception:  # an adapter bug: the surface ends the stream with an error
            finished = True
            await self._record(call, None, "failed", error="internal")
            raise
        finally:
            if not finished:  # the client went away (or an adapter bug): reported without awaiting here
                self._background.spawn(self._record(call, None, "cancelled", error="client_gone"))
            self._sink.stream_closed(call.surface)
            await events.aclose()
            self.abandon(call)

    # -- embeddings ---------------------------------------------------------------------------------------

    async def embed(
        self, principal: Principal, request: EmbeddingRequest, *, surface: str
    ) -> EmbeddingResponse:
        """Vectors for the inputs (each checked by the input guardrails first), routed, accounted for."""
        route = self._providers.embedding_route(request.model or None)
        policy = await self._policies.get(principal.tenant_id, "default") or GuardrailPolicy(name="default")
        checked: list[str] = []
        for text in request.inputs:
            outcome = await self._checker.check(policy, "input", text)
            if not outcome.allowed:
                raise GuardrailBlocked(outcome.decisions[-1])
            checked.append(outcome.text)
        if self._limits is not None:
            await self._limits.admit_tokens(principal)
        call = PreparedCall(
            principal=principal,
            surface=surface,
            route=route,
            request=ModelRequest(messages=()),
            wire=None,
            policy=policy,
            decisions=[],
            budget=await self._budgets.reserve(principal) if self._budgets is not None else None,
        )
        try:
            answer = await route.model.embed(_replace(request, inputs=tuple(checked)))
        except ProviderUnavailable as exc:
            await self._failed(call, exc)
            raise
        await self._report(call, "completed", answer.usage, answer.provider, answer.model, (), error="")
        return answer

    # -- accounting ---------------------------------------------------------------------------------------

    async def _finish(self, call: PreparedCall, response: ModelResponse, status: Outcome) -> None:
        if call.store:
            call.conversation_id = await self._store(call, response)
        await self._record(call, response, status)

    async def _store(self, call: PreparedCall, response: ModelResponse) -> str:
        """``store: true``: the exchange (the last user text, the answer) as a new conversation."""
        users = [m for m in call.request.messages if isinstance(m, UserPrompt)]
        now = self._clock()
        items: list[ConversationItem] = []
        if users:
            items.append(UserMessage(id=new_id(), created_at=now, text=users[-1].text))
        items.append(
            AssistantMessage(
                id=new_id(),
                created_at=now,
                text=response.text,
                agent=None,
                provider=response.provider,
                model=response.model,
            )
        )
        conversation_id = new_id()
        await self._sessions.append(call.principal.tenant_id, conversation_id, items)
        return conversation_id

    async def _failed(self, call: PreparedCall, exc: ProviderUnavailable) -> None:
        route = call.route
        await self._report(
            call, "failed", Usage(), route.provider.name, route.model_name, exc.attempts, exc.failure
        )

    async def _record(
        self, call: PreparedCall, response: ModelResponse | None, outcome: Outcome, *, error: str = ""
    ) -> None:
        """Report the call's end: the response's usage and deployment, or (no response) the route's."""
        if response is None:
            route = call.route
            await self._report(call, outcome, Usage(), route.provider.name, route.model_name, (), error)
        else:
            await self._report(
                call, outcome, response.usage, response.provider, response.model, response.attempts, error
            )

    async def _report(
        self,
        call: PreparedCall,
        outcome: Outcome,
        usage: Usage,
        deployment: str,
        model: str,
        attempts: tuple[Attempt, ...],
        error: str,
    ) -> None:
        now = time.perf_counter()
        first = call.first_output
        principal = call.principal
        await self._calls.ended(
            principal,
            CallEnded(
                outcome=outcome,
                surface=call.surface,
                tenant_id=principal.tenant_id,
                key_id=principal.key_id,
                agent="",
                route=call.route.route,
                deployment=deployment,
                model=model,
                streamed=call.streamed,
                attempts=attempts,
                latency_s=now - call.started,
                ttft_s=None if first is None else first - call.started,
                usage=usage,
                conversation_id=call.conversation_id or "",
                error=error,
            ),
            call.budget,
        )


def _done_of(event: WireFrame | ModelEvent) -> ModelDone | None:
    if type(event) is ModelDone:
        return event
    if type(event) is WireFrame and event.events and type(event.events[-1]) is ModelDone:
        done = event.events[-1]
        assert isinstance(done, ModelDone)
        return done
    return None
