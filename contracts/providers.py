"""How a provider kind plugs in: a settings Struct and one factory returning the surfaces it offers.

Each ``adapters/providers/<kind>/__init__.py`` exposes ``KIND: ProviderKind`` and must stay light: heavy
SDKs are imported inside ``build``, so a disabled kind costs nothing at startup.

Settings of an instance named ``NAME`` come from ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>`` variables (field
names upper-cased), converted to ``settings_type`` with ``msgspec.convert(..., strict=False)``;
``env_defaults`` names plain variables (e.g. ``OPENAI_API_KEY``) used when the instance's own variable is
unset and the instance's name equals the kind's name.

An instance offers a ``LanguageModel`` (one model call in neutral terms); agent turns on it run in the
shared neutral tool loop, or in an agent engine a kind offers (``ProviderKind.engines``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from contracts.agents import ProviderDescriptor, ProviderHealth
from contracts.ports import (
    AgentCatalog,
    AgentRuntime,
    EmbeddingModel,
    LanguageModel,
    ModerationCheck,
    RealtimeChannelFactory,
    ToolRegistryPort,
)

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What the composition root hands a provider factory."""

    name: str
    tools: ToolRegistryPort
    catalog: AgentCatalog


@dataclass(frozen=True, slots=True)
class EngineContext:
    """What the composition root hands an agent-engine factory. ``instances`` are the parsed settings of
    the enabled instances of the kind offering the engine (name -> settings)."""

    tools: ToolRegistryPort
    catalog: AgentCatalog
    max_steps: int
    instances: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ProviderInstance:
    """The surfaces one provider instance offers. ``model`` is its wire codec behind the ``LanguageModel``
    port; ``engine`` the agent engine it prefers for agents that leave the choice to it (``auto``);
    ``ping`` a cheap health check (no tokens spent); ``aclose`` releases its pooled clients on shutdown."""

    descriptor: ProviderDescriptor
    model: LanguageModel
    engine: str = "tool_loop"
    realtime: RealtimeChannelFactory | None = None
    moderation: ModerationCheck | None = None
    embeddings: EmbeddingModel | None = None
    ping: Callable[[], Awaitable[ProviderHealth]] | None = None
    aclose: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class ProviderKind(Generic[S]):
    """A provider kind: its settings type, a validator run before startup, and its factory.

    ``validate`` returns human-readable problems naming the environment variable to fix (empty: fine);
    it runs before anything is built, so a bad configuration fails at startup with one clear message.
    ``engines`` are agent engines this kind offers to every agent (name -> factory; e.g. the OpenAI kind's
    ``agents_sdk``), built only when an agent or an instance asks for one.
    """

    name: str
    settings_type: type[S]
    build: Callable[[BuildContext, S], ProviderInstance]
    validate: Callable[[str, S], list[str]] = lambda _name, _settings: []
    env_defaults: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    engines: Mapping[str, Callable[[EngineContext], AgentRuntime]] = field(default_factory=dict)
    moved: Mapping[str, str] = field(default_factory=dict)
    """Settings that no longer exist on this kind -> where to set that now (named in the start-up error)."""

    def settings_from(self, values: Mapping[str, Any]) -> S:
        return msgspec.convert(dict(values), type=self.settings_type, strict=False)
