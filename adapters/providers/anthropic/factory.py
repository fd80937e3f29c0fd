"""Builds one Anthropic-kind provider instance: its native Messages model over one pooled session."""

from __future__ import annotations

from adapters.providers.anthropic.settings import AnthropicSettings
from adapters.providers.anthropic.wire.model import AnthropicModel
from contracts.agents import ProviderCapabilities, ProviderDescriptor
from contracts.providers import BuildContext, ProviderInstance

CAPABILITIES = ProviderCapabilities(
    streaming=True,
    tools=True,
    handoffs=True,
    structured_output=True,
    realtime=False,
    moderation=False,
    images=True,
)
"""Handoffs are tools of the shared tool loop; structured output goes through a forced tool."""


def build(ctx: BuildContext, settings: AnthropicSettings) -> ProviderInstance:
    """The instance named ``ctx.name``. Its HTTP pool is created on first use and closed by ``aclose``."""
    descriptor = ProviderDescriptor(
        name=ctx.name,
        kind="anthropic",
        default_model=settings.model,
        offline=False,
        capabilities=CAPABILITIES,
    )
    model = AnthropicModel(ctx.name, settings)
    return ProviderInstance(
        descriptor=descriptor, model=model, engine="tool_loop", ping=model.ping, aclose=model.aclose
    )
