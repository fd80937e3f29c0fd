"""Agents SDK spans go to our own telemetry (structlog ``openai.span`` events at debug level).

The SDK's default processor exports traces to OpenAI; ``install_tracing`` replaces the process-wide
processors with ours, and adds OpenAI's exporter back only when an instance sets ``TRACING=true``. Span
data never includes prompt or output text (``trace_include_sensitive_data=False`` in every run).
"""

from __future__ import annotations

from typing import Any

import structlog
from agents.tracing import TracingProcessor, set_trace_processors
from agents.tracing.processors import default_processor

log = structlog.get_logger("switchboard.openai.tracing")
_export_to_openai = False


class StructlogSpanProcessor(TracingProcessor):
    """Logs each finished span: its type, name, trace id, duration and error message if any."""

    def on_trace_start(self, trace: Any) -> None:
        return None

    def on_trace_end(self, trace: Any) -> None:
        return None

    def on_span_start(self, span: Any) -> None:
        return None

    def on_span_end(self, span: Any) -> None:
        data = span.span_data
        error = span.error or {}
        log.debug(
            "openai.span",
            span_type=getattr(data, "type", type(data).__name__),
            name=getattr(data, "name", None),
            trace_id=span.trace_id,
            started_at=span.started_at,
            ended_at=span.ended_at,
            error=error.get("message") if isinstance(error, dict) else None,
        )

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None


def install_tracing(*, export_to_openai: bool) -> None:
    """Process-wide: our processor always; OpenAI's exporter once any instance asks for it."""
    global _export_to_openai
    _export_to_openai = _export_to_openai or export_to_openai
    processors: list[TracingProcessor] = [StructlogSpanProcessor()]
    if _export_to_openai:
        processors.append(default_processor())
    set_trace_processors(processors)
