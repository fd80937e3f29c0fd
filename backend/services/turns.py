"""The pieces of a chat turn shared by the JSON and streaming paths: the prepared turn, ids and clocks,
history filtering, tool steps as items, and the turn ledger (a finished turn's report)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from backend.services.budgets import Reservation
from backend.services.call_ledger import CallLedger
from backend.services.stream_starts import UNGATED, StartSlot
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
from contracts.ports import AgentTurn, Target
from contracts.telemetry import CallEnded, Outcome
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
    streamed: bool = False
    first_output: float | None = None
    """``perf_counter`` of the first text delta streamed (time to first token)."""
    budget: Reservation | None = None
    """The budget reservation held until the turn's end is reported."""
    reported: bool = False
    """The turn's end has been reported (``TurnLedger.record``): never twice."""
    start_slot: StartSlot = UNGATED
    """A streamed turn's place among the starting ones (``StreamStarts``), given back when its request
    goes upstream, at its first model output, or at its end."""


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
    """Reports finished chat turns to the ``CallLedger`` (usage, token charge, logs, metrics), and logs
    the turn's text when ``SWITCHBOARD_LOG_PROMPTS`` is on (debugging only)."""

    def __init__(self, calls: CallLedger, log_prompts: bool) -> None:
        self._calls = calls
        self._log_prompts = log_prompts

    async def record(
        self,
        prepared: PreparedTurn,
        usage: Usage,
        outcome: Outcome,
        model: str,
        *,
        provider: str | None = None,
        attempts: tuple[Attempt, ...] = (),
        error: str = "",
    ) -> None:
        if prepared.reported:
            return
        prepared.reported = True
        now = time.perf_counter()
        first = prepared.first_output
        principal = prepared.principal
        await self._calls.ended(
            principal,
            CallEnded(
                outcome=outcome,
                surface="chat",
                tenant_id=principal.tenant_id,
                key_id=principal.key_id,
                agent=prepared.agent.key,
                route=prepared.target.route,
                deployment=provider or prepared.target.provider.name,
                model=model,
                streamed=prepared.streamed,
                attempts=attempts,
                latency_s=now - prepared.started,
                ttft_s=None if first is None else first - prepared.started,
                usage=usage,
                conversation_id=prepared.conversation_id,
                error=error,
            ),
            prepared.budget,
        )

    def text(self, prepared: PreparedTurn, output: str) -> None:
        if self._log_prompts:
            log.info(
                "chat.text",
                conversation_id=prepared.conversation_id,
                prompt=prepared.turn.input,
                answer=output,
            )
