"""Builds one OpenAI-kind provider instance: its native model (Chat Completions or Responses over one
pooled session), moderation on the same pool, realtime, and the pool to close."""

from __future__ import annotations

from adapters.providers.openai.moderation import OpenAIModeration
from adapters.providers.openai.realtime.channel import OpenAIRealtime
from adapters.providers.openai.settings import OpenAISettings
from adapters.providers.openai.wire.embeddings import OpenAIEmbeddings
from adapters.providers.openai.wire.model import OpenAIModel
from contracts.agents import ProviderCapabilities, ProviderDescriptor
from contracts.providers import BuildContext, ProviderInstance

CAPABILITIES = ProviderCapabilities(
    streaming=True,
    tools=True,
    handoffs=True,
    structured_output=True,
    realtime=True,
    moderation=True,
    images=True,
    embeddings=True,
)


def build(ctx: BuildContext, settings: OpenAISettings) -> ProviderInstance:
    """The instance named ``ctx.name``. Its HTTP pool is created on first use and closed by ``aclose``."""
    descriptor = ProviderDescriptor(
        name=ctx.name,
        kind="openai",
        default_model=settings.model,
        offline=False,
        capabilities=CAPABILITIES,
        default_embedding_model=settings.embedding_model,
    )
    model = OpenAIModel(ctx.name, settings)
    return ProviderInstance(
        descriptor=descriptor,
        model=model,
        engine=settings.agent_engine,
        realtime=OpenAIRealtime(descriptor, settings),
        moderation=OpenAIModeration(model.http, model.base_url, settings.moderation_model),
        embeddings=OpenAIEmbeddings(model.http, model.base_url, settings.embedding_model),
        ping=model.ping,
        aclose=model.aclose,
    )
