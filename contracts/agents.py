"""Agents, providers and their descriptors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from contracts.base import Struct
from contracts.routing import DeploymentInfo

Key = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]


class AgentDescriptor(Struct, frozen=True, kw_only=True):
    """An agent as declared in the catalog file.

    ``provider``/``model`` of ``None`` mean "the default provider" and "that provider's default model".
    ``tools`` name tools of the ToolRegistryPort; ``handoffs`` name other catalog agents this one may hand
    the conversation to; ``output_schema`` (JSON Schema) asks for structured output; ``guardrail_policy``
    names the policy checked on input and output (``None``: the ``default`` policy). ``engine`` picks
    what runs the agent's turns: ``tool_loop`` (Switchboard's neutral loop, any provider),
    ``agents_sdk`` (the OpenAI Agents SDK driven through the same models), ``auto`` (what the first
    deployment's provider instance prefers).
    """

    key: Key
    description: str
    instructions: str
    provider: str | None = None
    model: str | None = None
    tools: tuple[str, ...] = ()
    handoffs: tuple[str, ...] = ()
    guardrail_policy: str | None = None
    output_schema: dict[str, Any] | None = None
    engine: Literal["auto", "tool_loop", "agents_sdk"] = "auto"


class ProviderCapabilities(Struct, frozen=True, kw_only=True):
    """What a provider instance can do."""

    streaming: bool = True
    tools: bool = False
    handoffs: bool = False
    structured_output: bool = False
    realtime: bool = False
    moderation: bool = False
    images: bool = False
    embeddings: bool = False


class ProviderDescriptor(Struct, frozen=True, kw_only=True):
    """A named provider instance of some kind (``openai``, ``scripted``...)."""

    name: str
    kind: str
    default_model: str
    offline: bool = False
    capabilities: ProviderCapabilities = ProviderCapabilities()
    default_embedding_model: str | None = None
    """The model asked for when a client names this instance for embeddings (``embeddings`` capability)."""


class ProviderHealth(Struct, frozen=True, kw_only=True):
    """Result of a provider's health check."""

    ok: bool
    detail: str | None = None


class ProviderStatus(Struct, frozen=True, kw_only=True):
    """A provider as ``GET /v1/providers`` shows it."""

    name: str
    kind: str
    default_model: str
    offline: bool
    capabilities: ProviderCapabilities
    default: bool
    order: int
    health: ProviderHealth
    deployments: list[DeploymentInfo] = []
    """Every ``provider:model`` of this instance known to a route, with its circuit state."""
