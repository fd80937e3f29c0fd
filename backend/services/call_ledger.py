"""Where every turn and model call ends: one ``CallEnded`` in, then its price (``PriceBook``), the budget
reservation settled with it, the usage record, the token charge and the ``CallSink`` (logs, metrics). Chat turns, protocol-surface calls, embeddings and realtime turns
all end here, so a log line, a metric and a bill can never disagree about a call.

Accounting never fails the call it accounts for: it runs after the answer is stored, and a failure here
is logged, not raised (a retrying client would otherwise store the same turn twice).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec
import structlog

from backend.services.budgets import Budgets, Reservation
from backend.services.limits import Limits
from contracts.accounting import UsageRecord
from contracts.auth import Principal
from contracts.ports import UsageRecorder
from contracts.pricing import PriceBook
from contracts.telemetry import CallEnded, CallSink

log = structlog.get_logger("switchboard.calls")


class CallLedger:
    """Records, charges and reports finished calls. Services call ``ended`` exactly once per call."""

    def __init__(
        self,
        usage: UsageRecorder,
        sink: CallSink,
        limits: Limits | None,
        clock: Callable[[], datetime],
        prices: PriceBook | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        self._usage = usage
        self._sink = sink
        self._limits = limits
        self._clock = clock
        self._prices = prices
        self._budgets = budgets

    @property
    def sink(self) -> CallSink:
        return self._sink

    async def ended(self, principal: Principal, call: CallEnded, budget: Reservation | None = None) -> None:
        usage = call.usage
        if self._prices is not None and call.cost_usd is None and (usage.input_tokens or usage.output_tokens):
            cost = self._prices.cost(call.deployment, call.model, usage)
            if cost is not None:
                call = msgspec.structs.replace(call, cost_usd=cost)
        if self._budgets is not None:
            await self._budgets.settle(budget, call.cost_usd)
        try:
            await self._usage.record(
                UsageRecord(
                    tenant_id=call.tenant_id,
                    key_id=call.key_id,
                    conversation_id=call.conversation_id,
                    provider=call.deployment,
                    model=call.model,
                    agent=call.agent or f"({call.surface})",  # a protocol surface: no agent
                    status=call.outcome,
                    latency_ms=round(call.latency_s * 1000, 2),
                    usage=call.usage,
                    created_at=self._clock(),
                    cost_usd=call.cost_usd,
                )
            )
            if self._limits is not None:
                await self._limits.charge_tokens(principal, call.usage.total_tokens)
        except Exception as exc:
            log.warning(
                "call.accounting_failed",
                error=type(exc).__name__,
                surface=call.surface,
                conversation_id=call.conversation_id or None,
            )
        self._sink.call_ended(call)
