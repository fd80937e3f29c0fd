"""Tools an agent may call, described neutrally. Provider adapters translate these to SDK tool objects."""

from __future__ import annotations

from typing import Any

from contracts.base import Struct


class ToolSpec(Struct, frozen=True, kw_only=True):
    """A tool as a model sees it: name, description and a JSON Schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolCall(Struct, frozen=True, kw_only=True):
    """A model's request to run a tool. ``arguments`` is the decoded JSON object the model produced."""

    call_id: str
    name: str
    arguments: dict[str, Any]


class ToolResult(Struct, frozen=True, kw_only=True):
    """What a tool returned, as text for the model. ``is_error`` marks a failed call (bad arguments...)."""

    call_id: str
    name: str
    output: str
    is_error: bool = False


class ToolContext(Struct, frozen=True, kw_only=True):
    """Who is calling: tools that read data (conversation search) scope by ``tenant_id``."""

    tenant_id: str
    conversation_id: str | None = None
