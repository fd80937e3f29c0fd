"""Tracing: SDK spans reach our structlog processor without prompt text; OpenAI's exporter is
installed only when an instance's settings ask for it, with that instance's key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from agents.tracing import TracingProcessor, add_trace_processor, set_trace_processors
from agents.tracing.processors import BatchTraceProcessor

from adapters.providers.openai import KIND, telemetry
from adapters.providers.openai.agents.runtime import AgentsSdkRuntime
from adapters.providers.openai.engine import tracing_export_key
from adapters.providers.openai.telemetry import StructlogSpanProcessor, install_tracing
from contracts.providers import EngineContext
from tests.providers.openai.fakes import FakeCatalog, FakeToolRegistry, turn
from tests.support.fake_models import FakeLanguageModel

PROMPT = "my secret diary entry about lookup"


def processors() -> list[Any]:
    from agents.tracing import get_trace_provider

    # The SDK keeps its processors privately; this is the process-wide state the guarantee is about.
    return list(get_trace_provider()._multi_processor._processors)  # type: ignore[attr-defined]


class Spy(TracingProcessor):
    """Keeps every finished span's export."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    def on_trace_start(self, trace: Any) -> None: ...
    def on_trace_end(self, trace: Any) -> None: ...
    def on_span_start(self, span: Any) -> None: ...
    def on_span_end(self, span: Any) -> None:
        self.spans.append(span.export() or {})

    def shutdown(self) -> None: ...
    def force_flush(self) -> None: ...


@pytest.fixture
def restore_tracing() -> Iterator[None]:
    installed = processors()
    yield
    telemetry._export_to_openai = False
    set_trace_processors(installed)


def context(**instances: Any) -> EngineContext:
    return EngineContext(tools=FakeToolRegistry(), catalog=FakeCatalog(), max_steps=5, instances=instances)


@pytest.mark.usefixtures("restore_tracing")
async def test_spans_are_logged_by_our_processor_without_prompt_text() -> None:
    engine = KIND.engines["agents_sdk"](context(openai=KIND.settings_from({"api_key": "sk-x"})))
    installed = processors()
    assert any(isinstance(p, StructlogSpanProcessor) for p in installed)
    assert not any(isinstance(p, BatchTraceProcessor) for p in installed)
    spy = Spy()
    add_trace_processor(spy)
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            await engine.run(turn(f'use lookup {{"query": "{PROMPT}"}}'), FakeLanguageModel())
    finally:
        structlog.configure(**saved)
    logged = [entry for entry in logs if entry["event"] == "openai.span"]
    assert {"agent", "generation", "function"} <= {entry["span_type"] for entry in logged}
    assert PROMPT not in json.dumps(logged, default=str)
    assert {"agent", "generation", "function"} <= {span["span_data"]["type"] for span in spy.spans}
    assert PROMPT not in json.dumps(spy.spans, default=str)


def test_export_key_comes_from_an_instance_that_asks_for_tracing() -> None:
    quiet = KIND.settings_from({"api_key": "sk-quiet"})
    loud = KIND.settings_from({"api_key": "sk-loud", "tracing": True})
    keyless = KIND.settings_from({"base_url": "http://127.0.0.1:9/v1", "tracing": True})
    assert tracing_export_key(context(a=quiet)) is None
    assert tracing_export_key(context(a=quiet, b=loud)) == "sk-loud"
    assert tracing_export_key(context(a=keyless)) is None


@pytest.mark.usefixtures("restore_tracing")
def test_openai_exporter_is_installed_only_when_asked_and_stays_installed() -> None:
    install_tracing(export_to_openai=False)
    assert not any(isinstance(p, BatchTraceProcessor) for p in processors())
    install_tracing(export_to_openai=True)
    AgentsSdkRuntime(FakeCatalog(), FakeToolRegistry(), max_turns=2)  # a later engine keeps it
    kinds = processors()
    assert any(isinstance(p, BatchTraceProcessor) for p in kinds)
    assert any(isinstance(p, StructlogSpanProcessor) for p in kinds)
