"""Tracing: spans reach our own processor; OpenAI's exporter is installed only when a setting asks."""

from __future__ import annotations

from typing import Any

from contracts.providers import ProviderInstance
from tests.providers.openai.fakes import turn


def processors() -> list[Any]:
    from agents.tracing import get_trace_provider

    # The SDK keeps its processors privately; this is the process-wide state the guarantee is about.
    return list(get_trace_provider()._multi_processor._processors)  # type: ignore[attr-defined]


async def test_spans_go_to_our_processor_and_nothing_is_exported(instance: ProviderInstance) -> None:
    from agents.tracing import TracingProcessor
    from agents.tracing.processors import BatchTraceProcessor

    from adapters.providers.openai.telemetry import StructlogSpanProcessor

    installed = processors()
    assert any(isinstance(p, StructlogSpanProcessor) for p in installed)
    assert not any(isinstance(p, BatchTraceProcessor) for p in installed)

    ended: list[str] = []

    class Spy(TracingProcessor):
        def on_trace_start(self, trace: Any) -> None: ...
        def on_trace_end(self, trace: Any) -> None: ...
        def on_span_start(self, span: Any) -> None: ...
        def on_span_end(self, span: Any) -> None:
            ended.append(span.span_data.type)

        def shutdown(self) -> None: ...
        def force_flush(self) -> None: ...

    from agents.tracing import add_trace_processor, set_trace_processors

    add_trace_processor(Spy())
    try:
        await instance.runtime.run(turn("hello world"))
    finally:
        set_trace_processors(installed)
    assert "agent" in ended
