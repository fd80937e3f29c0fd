"""OpenTelemetry spans of finished calls, with the GenAI semantic conventions: a ``CallSink`` that turns
each ``CallEnded`` into one span (``invoke_agent <agent>`` for agent turns, ``chat <model>`` for model
calls, ``embeddings <model>``), timed from the call's start to its end, exported in batches off the
request path (OTLP over HTTP by default). Imported only when ``SWITCHBOARD_OTEL=true``.

Attributes: ``gen_ai.operation.name``, ``gen_ai.provider.name`` (the instance's kind: ``openai``,
``anthropic``...), ``gen_ai.request.model`` / ``gen_ai.response.model``, ``gen_ai.agent.name``,
``gen_ai.conversation.id``, ``gen_ai.usage.*`` tokens (input, output, cache read, cache creation,
reasoning), ``error.type`` when the call did not complete, and ``switchboard.*`` (surface, route,
deployment, outcome, attempts, time to first token, cost). Never prompt or answer text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from contracts.telemetry import CallEnded

_OPERATIONS = {"chat": "invoke_agent", "realtime": "invoke_agent", "openai.embeddings": "embeddings"}


class OtelCallSink:
    """Implements ``CallSink``. ``provider_of`` maps a deployment (instance) to its provider name."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        service_name: str = "switchboard",
        provider_of: Callable[[str], str] = lambda deployment: deployment,
    ) -> None:
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}), shutdown_on_exit=False
        )
        self._provider.add_span_processor(BatchSpanProcessor(exporter))
        self._tracer = self._provider.get_tracer("switchboard")
        self._provider_of = provider_of

    def call_ended(self, call: CallEnded) -> None:
        end = time.time_ns()
        operation = _OPERATIONS.get(call.surface, "chat")
        subject = call.agent if operation == "invoke_agent" and call.agent else call.model
        usage = call.usage
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": self._provider_of(call.deployment),
            "gen_ai.request.model": call.model,
            "gen_ai.response.model": call.model,
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": usage.cached_tokens,
            "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
            "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
            "switchboard.surface": call.surface,
            "switchboard.route": call.route,
            "switchboard.deployment": call.deployment,
            "switchboard.outcome": call.outcome,
            "switchboard.streamed": call.streamed,
            "switchboard.attempts": len(call.attempts),
        }
        if call.agent:
            attributes["gen_ai.agent.name"] = call.agent
        if call.conversation_id:
            attributes["gen_ai.conversation.id"] = call.conversation_id
        if call.ttft_s is not None:
            attributes["switchboard.time_to_first_token_s"] = call.ttft_s
        if call.cost_usd is not None:
            attributes["switchboard.cost_usd"] = call.cost_usd
        if call.outcome != "completed":
            attributes["error.type"] = call.error or call.outcome
        span = self._tracer.start_span(
            f"{operation} {subject}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(call.latency_s * 1e9),
        )
        if call.outcome == "failed":
            span.set_status(Status(StatusCode.ERROR, call.error or None))
        span.end(end_time=end)

    def refused(self, limit: str) -> None:
        return None

    def stream_opened(self, surface: str) -> None:
        return None

    def stream_closed(self, surface: str) -> None:
        return None

    def force_flush(self, timeout_ms: int = 5000) -> bool:
        return self._provider.force_flush(timeout_ms)

    async def aclose(self) -> None:
        """Export what is queued, then stop (registry close: shutdown); off the event loop."""
        await asyncio.to_thread(self._provider.shutdown)


def otlp_exporter(endpoint: str) -> SpanExporter:
    """OTLP over HTTP (protobuf) to ``<endpoint>/v1/traces``."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces", timeout=10)
