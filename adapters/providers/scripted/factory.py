"""Builds a scripted provider instance: the offline model and realtime channel; no clients to close."""

from __future__ import annotations

from adapters.providers.scripted.embeddings import ScriptedEmbeddings
from adapters.providers.scripted.model import ScriptedModel
from adapters.providers.scripted.realtime import ScriptedRealtime
from adapters.providers.scripted.settings import ScriptedSettings
from contracts.agents import ProviderCapabilities, ProviderDescriptor, ProviderHealth
from contracts.providers import BuildContext, ProviderInstance

CAPABILITIES = ProviderCapabilities(streaming=True, tools=True, handoffs=True, realtime=True, embeddings=True)
"""Honest: no structured output (an agent that needs it is refused with 422), no images, no moderation;
embeddings are deterministic hashed bags of words."""
EMBEDDING_MODEL = "scripted-embed-1"


async def _ping() -> ProviderHealth:
    return ProviderHealth(ok=True, detail="offline scripted provider")


def build(ctx: BuildContext, settings: ScriptedSettings) -> ProviderInstance:
    """The scripted instance named ``ctx.name``."""
    descriptor = ProviderDescriptor(
        name=ctx.name,
        kind="scripted",
        default_model=settings.model,
        offline=True,
        capabilities=CAPABILITIES,
        default_embedding_model=EMBEDDING_MODEL,
    )
    return ProviderInstance(
        descriptor=descriptor,
        model=ScriptedModel(ctx.name, settings),
        realtime=ScriptedRealtime(descriptor, settings),
        embeddings=ScriptedEmbeddings(ctx.name, EMBEDDING_MODEL),
        ping=_ping,
    )
