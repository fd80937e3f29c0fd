"""The ``agents_sdk`` agent engine of the ``openai`` kind: the OpenAI Agents SDK over any ``LanguageModel``.

Imported lazily (``KIND.engines``): it imports ``agents``, which costs ~0.9 s and ~55 MiB.
"""

from __future__ import annotations

import structlog
from agents import set_tracing_export_api_key

from adapters.providers.openai.agents.runtime import AgentsSdkRuntime
from adapters.providers.openai.telemetry import install_tracing
from contracts.providers import EngineContext

log = structlog.get_logger("switchboard.openai.engine")


def tracing_export_key(ctx: EngineContext) -> str | None:
    """The API key to export SDK traces to OpenAI with: that of the first instance (in configured
    order) whose settings say ``tracing=True``; None (export nothing) when no instance asks."""
    for name, settings in ctx.instances.items():
        if getattr(settings, "tracing", False):
            key = getattr(settings, "api_key", None)
            if key:
                return str(key)
            log.warning("openai.tracing.no_key", instance=name)
    return None


def build_engine(ctx: EngineContext) -> AgentsSdkRuntime:
    """The engine for every agent that runs on ``agents_sdk``. Spans always go to our structlog
    processor (``telemetry``); to OpenAI's trace ingestion only when an instance asks for it."""
    key = tracing_export_key(ctx)
    if key is not None:
        set_tracing_export_api_key(key)
    install_tracing(export_to_openai=key is not None)
    return AgentsSdkRuntime(ctx.catalog, ctx.tools, max_turns=ctx.max_steps)
