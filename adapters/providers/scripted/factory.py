"""Builds a scripted provider instance: runtime and realtime, offline, no clients to close."""

from __future__ import annotations

from adapters.providers.scripted.realtime import ScriptedRealtime
from adapters.providers.scripted.runtime import ScriptedRuntime
from adapters.providers.scripted.settings import ScriptedSettings
from contracts.agents import ProviderCapabilities, ProviderDescriptor
from contracts.providers import BuildContext, ProviderInstance


def build(ctx: BuildContext, settings: ScriptedSettings) -> ProviderInstance:
    """The scripted instance named ``ctx.name``: streaming, tools, handoffs and realtime; no moderation."""
    descriptor = ProviderDescriptor(
        name=ctx.name,
        kind="scripted",
        default_model=settings.model,
        offline=True,
        capabilities=ProviderCapabilities(streaming=True, tools=True, handoffs=True, realtime=True),
    )
    return ProviderInstance(
        descriptor=descriptor,
        runtime=ScriptedRuntime(descriptor, settings, ctx.tools, ctx.catalog),
        realtime=ScriptedRealtime(descriptor, settings),
    )
