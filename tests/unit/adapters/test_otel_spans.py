"""One OpenTelemetry span per finished call, named and attributed by the GenAI semantic conventions."""

from __future__ import annotations

import time

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from adapters.telemetry.otel_spans import OtelCallSink
from contracts.models import Attempt
from contracts.telemetry import CallEnded
from contracts.usage import Usage


def sink() -> tuple[OtelCallSink, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    kinds = {"local": "openai", "claude": "anthropic"}
    return OtelCallSink(exporter, service_name="sb-test", provider_of=kinds.__getitem__), exporter


def test_an_agent_turn_is_an_invoke_agent_span_with_usage_and_timing() -> None:
    calls, exporter = sink()
    before = time.time_ns()
    calls.call_ended(
        CallEnded(
            outcome="completed",
            surface="chat",
            tenant_id="acme",
            key_id="k1",
            agent="assistant",
            route="fast",
            deployment="local",
            model="qwen3",
            streamed=True,
            latency_s=0.5,
            ttft_s=0.1,
            usage=Usage(
                input_tokens=100,
                output_tokens=20,
                total_tokens=120,
                cached_tokens=30,
                cache_write_tokens=5,
                reasoning_tokens=7,
            ),
            cost_usd=0.002,
            conversation_id="c1",
        )
    )
    calls.force_flush()
    [span] = exporter.get_finished_spans()
    assert span.name == "invoke_agent assistant" and span.kind is SpanKind.CLIENT
    assert span.resource.attributes["service.name"] == "sb-test"
    assert abs((span.end_time - span.start_time) / 1e9 - 0.5) < 1e-6 and span.end_time >= before
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert (attrs["gen_ai.request.model"], attrs["gen_ai.agent.name"]) == ("qwen3", "assistant")
    assert attrs["gen_ai.conversation.id"] == "c1"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (100, 20)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 5
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 7
    assert (attrs["switchboard.route"], attrs["switchboard.cost_usd"]) == ("fast", 0.002)
    assert "error.type" not in attrs and span.status.status_code is StatusCode.UNSET
    assert "acme" not in attrs.values()  # tenants are not span attributes


def test_a_failed_model_call_is_a_chat_span_with_its_error_type() -> None:
    calls, exporter = sink()
    attempt = Attempt(provider="local", model="m", failure="timeout", detail="")
    calls.call_ended(
        CallEnded(
            outcome="failed",
            surface="anthropic.messages",
            tenant_id="acme",
            key_id="k1",
            agent="",
            route="claude",
            deployment="claude",
            model="claude-sonnet-4-5",
            attempts=(attempt,),
            latency_s=1.0,
            error="server_error",
        )
    )
    calls.force_flush()
    [span] = exporter.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.name == "chat claude-sonnet-4-5"
    assert (attrs["gen_ai.provider.name"], attrs["error.type"], attrs["switchboard.attempts"]) == (
        "anthropic",
        "server_error",
        1,
    )
    assert span.status.status_code is StatusCode.ERROR
