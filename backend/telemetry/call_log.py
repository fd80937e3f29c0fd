"""The logging ``CallSink``: one ``call.ended`` line per finished turn or call, one
``call.attempt_failed`` line per failed model call on its way, and a fan-out over several sinks."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from contracts.telemetry import CallEnded, CallSink

log = structlog.get_logger("switchboard.calls")


class LogCallSink:
    """Logs call outcomes as events with fields (never prompt text, never keys: only the key's id)."""

    def call_ended(self, call: CallEnded) -> None:
        for attempt in call.attempts:
            log.info(
                "call.attempt_failed",
                surface=call.surface,
                route=call.route,
                conversation_id=call.conversation_id or None,
                provider=attempt.provider,
                model=attempt.model,
                failure=attempt.failure,
                status=attempt.status,
            )
        usage = call.usage
        log.info(
            "call.ended",
            outcome=call.outcome,
            surface=call.surface,
            tenant_id=call.tenant_id,
            key_id=call.key_id,
            agent=call.agent,
            route=call.route,
            provider=call.deployment,
            model=call.model,
            streamed=call.streamed,
            attempts=len(call.attempts),
            error=call.error or None,
            conversation_id=call.conversation_id or None,
            latency_ms=round(call.latency_s * 1000, 2),
            ttft_ms=None if call.ttft_s is None else round(call.ttft_s * 1000, 2),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            total_tokens=usage.total_tokens,
            cost_usd=call.cost_usd,
        )

    def refused(self, limit: str) -> None:
        log.info("limits.refused", limit=limit)

    def stream_opened(self, surface: str) -> None:
        return None

    def stream_closed(self, surface: str) -> None:
        return None


class CallSinks:
    """Hands every report to each sink in turn; a failing sink is logged and never fails the call."""

    def __init__(self, sinks: Sequence[CallSink]) -> None:
        self._sinks = tuple(sinks)

    def call_ended(self, call: CallEnded) -> None:
        for sink in self._sinks:
            try:
                sink.call_ended(call)
            except Exception as exc:
                log.error("telemetry.sink_failed", sink=type(sink).__name__, error=type(exc).__name__)

    def refused(self, limit: str) -> None:
        for sink in self._sinks:
            try:
                sink.refused(limit)
            except Exception as exc:
                log.error("telemetry.sink_failed", sink=type(sink).__name__, error=type(exc).__name__)

    def stream_opened(self, surface: str) -> None:
        for sink in self._sinks:
            try:
                sink.stream_opened(surface)
            except Exception as exc:
                log.error("telemetry.sink_failed", sink=type(sink).__name__, error=type(exc).__name__)

    def stream_closed(self, surface: str) -> None:
        for sink in self._sinks:
            try:
                sink.stream_closed(surface)
            except Exception as exc:
                log.error("telemetry.sink_failed", sink=type(sink).__name__, error=type(exc).__name__)
