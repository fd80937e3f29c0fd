"""The realtime service: a realtime channel under the same rules as ``/v1/chat`` (over ports only).

- **Limits**: opening counts as a request (done by the edge), holds one concurrent-stream slot for the
  session's life, and each text input checks the key's tokens-per-minute budget; tokens are charged.
- **Guardrails**: each ``input.text`` passes the tenant policy's input rules before it reaches the
  provider (a block answers an ``error`` event and nothing is sent); audio input is refused when the
  policy has input rules, since it cannot be checked. Output deltas pass the streamed output filter
  (``OutputScreen``), and each finished turn the whole-text output check; audio output is withheld when
  the policy has output rules.
- **Storage and usage**: each finished turn is appended to the conversation (the ``conversation_id`` the
  client chose, or a new one announced in ``session.started``) and recorded as usage.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import msgspec
import structlog

from backend.services.call_ledger import CallLedger
from backend.services.limits import Limits
from backend.services.output_screen import OutputScreen
from backend.services.turns import new_id, utcnow
from backend.telemetry.call_log import LogCallSink
from contracts.auth import Principal
from contracts.conversations import AssistantMessage, ConversationItem, UserMessage
from contracts.errors import DomainError, ErrorInfo, GuardrailBlocked, InvalidRequest, NotFound
from contracts.guardrails import GuardrailPolicy
from contracts.ports import (
    AgentCatalog,
    GuardrailChecker,
    GuardrailPolicyStore,
    ProviderDirectory,
    RealtimeChannel,
    SessionStore,
    UsageRecorder,
)
from contracts.pricing import PriceBook
from contracts.realtime import (
    InputAudio,
    InputAudioCommit,
    InputText,
    OutputAudioDelta,
    OutputTextDelta,
    RealtimeClientEvent,
    RealtimeError,
    RealtimeServerEvent,
    RealtimeSessionRequest,
    ResponseCancel,
    SessionStarted,
    TurnCompleted,
)
from contracts.telemetry import CallEnded, CallSink, Outcome
from contracts.usage import Usage

log = structlog.get_logger("switchboard.realtime")


class RealtimeService:
    """Opens guarded realtime sessions. Every collaborator is a port, passed in."""

    def __init__(
        self,
        *,
        catalog: AgentCatalog,
        providers: ProviderDirectory,
        sessions: SessionStore,
        policies: GuardrailPolicyStore,
        checker: GuardrailChecker,
        usage: UsageRecorder,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
        sink: CallSink | None = None,
        prices: PriceBook | None = None,
    ) -> None:
        self._catalog = catalog
        self._providers = providers
        self._sessions = sessions
        self._policies = policies
        self._checker = checker
        self._usage = usage
        self._calls = CallLedger(usage, sink or LogCallSink(), limits, clock, prices)
        self._limits = limits
        self._clock = clock

    async def open(
        self,
        principal: Principal,
        *,
        provider: str | None,
        agent: str | None,
        conversation_id: str | None,
    ) -> RealtimeSession:
        """Resolve agent and provider, take a stream slot, open the channel. Raises domain errors."""
        try:
            descriptor = self._catalog.get(agent or self._catalog.default_key)
        except NotFound:
            raise InvalidRequest(f"agent {agent!r} is not in the catalog", field="agent") from None
        name = provider or descriptor.provider or self._providers.default
        try:
            factory = self._providers.realtime(name)
        except NotFound:
            raise InvalidRequest(f"provider {name!r} is not enabled", field="provider") from None
        policy = await self._policies.get(principal.tenant_id, descriptor.guardrail_policy or "default")
        lease = await self._limits.open_stream(principal)
        try:
            channel = await factory.open(
                RealtimeSessionRequest(
                    tenant_id=principal.tenant_id,
                    instructions=descriptor.instructions,
                    model=descriptor.model,
                )
            )
        except BaseException:
            await self._limits.close_stream(principal, lease)
            raise
        return RealtimeSession(
            service=self,
            principal=principal,
            channel=channel,
            policy=policy or GuardrailPolicy(name=descriptor.guardrail_policy or "default"),
            conversation_id=conversation_id or new_id(),
            provider=name,
            agent=descriptor.key,
            lease=lease,
        )


class RealtimeSession:
    """One open, guarded realtime session."""

    def __init__(
        self,
        *,
        service: RealtimeService,
        principal: Principal,
        channel: RealtimeChannel,
        policy: GuardrailPolicy,
        conversation_id: str,
        provider: str,
        agent: str,
        lease: str | None,
    ) -> None:
        self._s = service
        self._principal = principal
        self._channel = channel
        self._policy = policy
        self.conversation_id = conversation_id
        self._provider = provider
        self._agent = agent
        self._model = ""
        self._lease = lease
        self._inputs: deque[tuple[str, float]] = deque()
        self._screen = self._new_screen()
        self._blocked = False
        self._audio_refused = False

    def _new_screen(self) -> OutputScreen:
        return OutputScreen(self._s._checker.output_filter(self._policy))

    def _has_rules(self, stage: str) -> bool:
        return any(rule.applies_to in (stage, "both") for rule in self._policy.rules)

    async def send(self, event: RealtimeClientEvent) -> RealtimeError | None:
        """Forward a client event once it passed the rules; the error event to answer when it did not."""
        if isinstance(event, InputText):
            outcome = await self._s._checker.check(self._policy, "input", event.text)
            if not outcome.allowed:
                log.info("guardrail.blocked", stage="input", policy=self._policy.name, surface="realtime")
                return RealtimeError(error=GuardrailBlocked(outcome.decisions[-1]).info())
            try:
                await self._s._limits.admit_tokens(self._principal)
            except DomainError as exc:
                return RealtimeError(error=exc.info())
            self._inputs.append((outcome.text, time.perf_counter()))
            event = InputText(text=outcome.text)
        elif isinstance(event, InputAudio | InputAudioCommit) and self._has_rules("input"):
            detail = f"policy {self._policy.name!r} has input rules, which audio cannot pass; send input.text"
            return RealtimeError(error=ErrorInfo(code="invalid_request", detail=detail))
        await self._channel.send(event)
        return None

    async def events(self) -> AsyncIterator[RealtimeServerEvent]:
        """The provider's events, checked: deltas filtered, finished turns checked, stored and billed."""
        async for event in self._channel.events():
            if isinstance(event, SessionStarted):
                self._model = event.model
                yield msgspec.structs.replace(event, conversation_id=self.conversation_id)
            elif isinstance(event, OutputTextDelta):
                if self._blocked:
                    continue
                try:
                    released = self._screen.admit(event.delta)
                except GuardrailBlocked as blocked:
                    yield await self._block(blocked)
                    continue
                if released:
                    yield OutputTextDelta(delta=released)
            elif isinstance(event, OutputAudioDelta) and self._has_rules("output"):
                if not self._audio_refused:
                    self._audio_refused = True
                    detail = f"policy {self._policy.name!r} has output rules; audio output is withheld"
                    yield RealtimeError(error=ErrorInfo(code="invalid_request", detail=detail))
            elif isinstance(event, TurnCompleted):
                async for checked in self._complete(event):
                    yield checked
            else:
                yield event

    async def _block(self, blocked: GuardrailBlocked) -> RealtimeError:
        self._blocked = True
        log.info("guardrail.blocked", stage="output", policy=self._policy.name, surface="realtime")
        await self._channel.send(ResponseCancel())
        return RealtimeError(error=blocked.info())

    async def _complete(self, event: TurnCompleted) -> AsyncIterator[RealtimeServerEvent]:
        user, started = self._inputs.popleft() if self._inputs else (None, time.perf_counter())
        screen, was_blocked = self._screen, self._blocked
        self._screen, self._blocked = self._new_screen(), False
        if was_blocked:
            await self._record(user, "", "blocked", event.usage, started)
            return
        outcome = await self._s._checker.check(self._policy, "output", event.text)
        if not outcome.allowed:
            yield RealtimeError(error=GuardrailBlocked(outcome.decisions[-1]).info())
            await self._record(user, "", "blocked", event.usage, started)
            return
        tail = screen.rest(outcome.text)
        if tail:
            yield OutputTextDelta(delta=tail)
        await self._record(user, outcome.text, "completed", event.usage, started)
        yield msgspec.structs.replace(event, text=outcome.text)

    async def _record(
        self, user: str | None, text: str, status: Outcome, usage: Usage, started: float
    ) -> None:
        """Store the turn, then account for it; failures are logged, never raised into the session."""
        now = self._s._clock()
        items: list[ConversationItem] = (
            [] if user is None else [UserMessage(id=new_id(), created_at=now, text=user)]
        )
        items.append(
            AssistantMessage(
                id=new_id(),
                created_at=now,
                text=text,
                agent=self._agent,
                provider=self._provider,
                model=self._model,
                status=status,
            )
        )
        tenant = self._principal.tenant_id
        try:
            await self._s._sessions.append(tenant, self.conversation_id, items)
        except Exception as exc:
            log.warning(
                "realtime.record_failed", error=type(exc).__name__, conversation_id=self.conversation_id
            )
        principal = self._principal
        await self._s._calls.ended(
            principal,
            CallEnded(
                outcome=status,
                surface="realtime",
                tenant_id=tenant,
                key_id=principal.key_id,
                agent=self._agent,
                route=self._provider,
                deployment=self._provider,
                model=self._model,
                streamed=True,
                latency_s=time.perf_counter() - started,
                usage=usage,
                conversation_id=self.conversation_id,
                error="guardrail_blocked" if status == "blocked" else "",
            ),
        )

    async def close(self) -> None:
        try:
            await self._channel.close()
        finally:
            await self._s._limits.close_stream(self._principal, self._lease)
            self._lease = None
