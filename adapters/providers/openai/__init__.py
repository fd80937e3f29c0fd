"""The ``openai`` provider kind: OpenAI, or any OpenAI-compatible server (vLLM, Ollama...).

Kept light: nothing heavy is imported until an instance is built (``KIND.build``: aiohttp, msgspec codecs),
and ``agents``/``openai`` only when the ``agents_sdk`` engine is built (``KIND.engines``), because an agent
or an instance asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.providers.openai.settings import OpenAISettings, validate_settings
from contracts.providers import ProviderKind

if TYPE_CHECKING:
    from contracts.ports import AgentRuntime
    from contracts.providers import BuildContext, EngineContext, ProviderInstance


def _build(ctx: BuildContext, settings: OpenAISettings) -> ProviderInstance:
    from adapters.providers.openai.factory import build

    return build(ctx, settings)


def _build_agents_sdk(ctx: EngineContext) -> AgentRuntime:
    from adapters.providers.openai.engine import build_engine

    return build_engine(ctx)


KIND: ProviderKind[OpenAISettings] = ProviderKind(
    name="openai",
    settings_type=OpenAISettings,
    build=_build,
    validate=validate_settings,
    env_defaults={"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"},
    description="OpenAI (Responses or Chat Completions API) or any compatible server, over native codecs.",
    engines={"agents_sdk": _build_agents_sdk},
    moved={
        "max_retries": "retries are per route now: set SWITCHBOARD_ROUTING_RETRIES (docs/routing.md)",
        "retry_base_delay_s": "set SWITCHBOARD_ROUTING_RETRY_BASE_DELAY_S (docs/routing.md)",
        "max_turns": "set SWITCHBOARD_AGENT_MAX_STEPS (it applies to every engine)",
    },
)

__all__ = ["KIND", "OpenAISettings", "validate_settings"]
