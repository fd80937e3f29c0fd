"""Builds one OpenAI provider instance: runtime, realtime, moderation, and one pooled client to close."""

from __future__ import annotations

from adapters.providers.openai.agents.builder import AgentBuilder
from adapters.providers.openai.agents.runtime import OpenAIAgentRuntime
from adapters.providers.openai.client import ClientHolder
from adapters.providers.openai.guardrails.moderation import OpenAIModeration
from adapters.providers.openai.realtime.channel import OpenAIRealtime
from adapters.providers.openai.settings import OpenAISettings
from contracts.agents import ProviderCapabilities, ProviderDescriptor
from contracts.providers import BuildContext, ProviderInstance

CAPABILITIES = ProviderCapabilities(
    streaming=True, tools=True, handoffs=True, structured_output=True, realtime=True, moderation=True
)


def build(ctx: BuildContext, settings: OpenAISettings) -> ProviderInstance:
    """The instance named ``ctx.name``. Its HTTP client is created on first use and closed by ``aclose``."""
    descriptor = ProviderDescriptor(
        name=ctx.name, kind="openai", default_model=settings.model, offline=False, capabilities=CAPABILITIES
    )
    clients = ClientHolder(settings)
    builder = AgentBuilder(settings, clients, ctx.catalog, ctx.tools)

    async def aclose() -> None:
        builder.clear()
        await clients.aclose()

    return ProviderInstance(
        descriptor=descriptor,
        runtime=OpenAIAgentRuntime(descriptor, settings, clients, builder),
        realtime=OpenAIRealtime(descriptor, settings),
        moderation=OpenAIModeration(ctx.name, settings, clients),
        aclose=aclose,
    )
