"""The pieces of a chat turn shared by the JSON and streaming paths: the prepared turn, ids and clocks,
history filtering, tool steps as items, and the turn ledger (usage records, token charges, logs)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from backend.services.limits import Limits
from contracts.accounting import UsageRecord
from contracts.agents import AgentDescriptor
from contracts.auth import Principal
from contracts.conversations import (
    AssistantMessage,
    ConversationItem,
    ToolCallItem,
    ToolResultItem,
    UserMessage,
)
from contracts.events import ToolCalled, ToolOutput
from contracts.guardrails import GuardrailDecision, GuardrailPolicy
from contracts.models import Attempt
from contracts.ports import AgentTurn, Target, UsageRecorder
from contracts.usage import Usage

log = structlog.get_logger("switchboard.chat")


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PreparedTurn:
    """A turn that passed input guardrails and is ready to run. Built by ``ChatService.prepare``.

    ``stored`` becomes true when the turn's append has been started: from then on it completes even if
    the caller is cancelled, and no partial copy may be stored as well."""

    principal: Principal
    conversation_id: str
    agent: AgentDescriptor
    target: Target
    policy: GuardrailPolicy
    turn: AgentTurn
    user_item: UserMessage
    decisions: list[GuardrailDecision] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    stream_lease: str | None = None
    stored: bool = False


@dataclass(frozen=True, slots=True)
class Answered:
    """Who answered a finished turn: the provider instance and upstream model of the last model call,
    the agent (after handoffs), and the failed model calls on the way."""

    provider: str
    model: str
    agent: str
    attempts: tuple[Attempt, ...] = ()


@dataclass(slots=True)
class ChatOptions:
    history_limit: int = 50
    log_prompts: bool = False


def ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def for_provider(items: list[ConversationItem]) -> list[ConversationItem]:
    """History as sent to a provider: assistant messages of unfinished turns are left out."""
    return [i for i in items if not (isinstance(i, AssistantMessage) and i.status != "completed")]


def step_item(step: ToolCalled | ToolOutput, at: datetime) -> ConversationItem:
    if isinstance(step, ToolCalled):
        c = step.call
        return ToolCallItem(id=new_id(), created_at=at, call_id=c.call_id, name=c.name, arguments=c.arguments)
    r = step.result
    return ToolResultItem(
        id=new_id(), created_at=at, call_id=r.call_id, name=r.name, output=r.output, is_error=r.is_error
    )


class TurnLedger:
    """Usage records, token charges and the ``chat.completed`` log line of finished turns.

    Accounting happens after the turn is stored, so it never fails the turn: a failure here is logged,
    not raised (a retrying client would otherwise store the same turn twice)."""

    def __init__(
        self,
        usage: UsageRecorder,
        limits: Limits | None,
        clock: Callable[[], datetime],
        log_prompts: bool,
    ) -> None:
        self._usage = usage
        self._limits = limits
        self._clock = clock
        self._log_prompts = log_prompts

    async def record(
        self,
        prepared: PreparedTurn,
        usage: Usage,
        status: str,
        model: str,
        *,
        provider: str | None = None,
        attempts: tuple[Attempt, ...] = (),
    ) -> None:
        for attempt in attempts:
            log.info(
                "chat.attempt_failed",
                conversation_id=prepared.conversation_id,
                provider=attempt.provider,
                model=attempt.model,
                failure=attempt.failure,
                status=attempt.status,
            )
        try:
            await self._usage.record(
                UsageRecord(
                    tenant_id=prepared.principal.tenant_id,
                    key_id=prepared.principal.key_id,
                    conversation_id=prepared.conversation_id,
                    provider=provider or prepared.target.provider.name,
                    model=model,
                    agent=prepared.agent.key,
                    status=status,
                    latency_ms=ms_since(prepared.started),
                    usage=usage,
                    created_at=self._clock(),
                )
            )
            if self._limits is not None:
                await self._limits.charge_tokens(prepared.principal, usage.total_tokens)
        except Exception as exc:
            log.warning(
                "chat.accounting_failed", error=type(exc).__name__, conversation_id=prepared.conversation_id
            )

    def completed(self, prepared: PreparedTurn, usage: Usage, answered: Answered, output: str) -> None:
        extra = {"prompt": prepared.turn.input, "answer": output} if self._log_prompts else {}
        log.info(
            "chat.completed",
            route=prepared.target.route,
            provider=answered.provider,
            agent=answered.agent,
            model=answered.model,
            attempts=len(answered.attempts),
            conversation_id=prepared.conversation_id,
            latency_ms=ms_since(prepared.started),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            **extra,
        )
