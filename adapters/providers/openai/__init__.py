"""The ``openai`` provider kind: OpenAI, or any OpenAI-compatible server (vLLM, Ollama...).

Kept light: ``agents`` and ``openai`` are imported only when an instance is built (``KIND.build``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.providers.openai.settings import OpenAISettings, validate_settings
from contracts.providers import ProviderKind

if TYPE_CHECKING:
    from contracts.providers import BuildContext, ProviderInstance


def _build(ctx: BuildContext, settings: OpenAISettings) -> ProviderInstance:
    from adapters.providers.openai.factory import build

    return build(ctx, settings)


KIND: ProviderKind[OpenAISettings] = ProviderKind(
    name="openai",
    settings_type=OpenAISettings,
    build=_build,
    validate=validate_settings,
    env_defaults={"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"},
    description="OpenAI through the Agents SDK (Responses or Chat Completions API); any compatible server.",
)

__all__ = ["KIND", "OpenAISettings", "validate_settings"]
