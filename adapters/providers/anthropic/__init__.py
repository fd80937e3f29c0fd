"""The ``anthropic`` provider kind: Anthropic's Messages API (or any server speaking it), over a native
msgspec codec and one pooled aiohttp session per instance. No vendor SDK is imported, ever.

Kept light: the codec and model modules are imported when an instance is built (``KIND.build``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.providers.anthropic.settings import AnthropicSettings, validate_settings
from contracts.providers import ProviderKind

if TYPE_CHECKING:
    from contracts.providers import BuildContext, ProviderInstance


def _build(ctx: BuildContext, settings: AnthropicSettings) -> ProviderInstance:
    from adapters.providers.anthropic.factory import build

    return build(ctx, settings)


KIND: ProviderKind[AnthropicSettings] = ProviderKind(
    name="anthropic",
    settings_type=AnthropicSettings,
    build=_build,
    validate=validate_settings,
    env_defaults={"api_key": "ANTHROPIC_API_KEY", "base_url": "ANTHROPIC_BASE_URL"},
    description="Anthropic Messages API (Claude models), native codec; agents run in the shared tool loop.",
)

__all__ = ["KIND", "AnthropicSettings", "validate_settings"]
