"""Conversation items and pages: the neutral history every provider reads and writes.

Items form a tagged union on ``type`` so stored JSON and API JSON are self-describing. Because history is
neutral, a conversation started on one provider continues on another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.base import Struct
from contracts.usage import Usage


class UserMessage(Struct, frozen=True, kw_only=True, tag="user_message"):
    """What the user said."""

    id: str
    created_at: datetime
    text: str


class AssistantMessage(Struct, frozen=True, kw_only=True, tag="assistant_message"):
    """What the assistant answered; ``status`` is ``cancelled`` or ``failed`` for a turn that did not finish
    (its ``text`` then holds what had been produced so far)."""

    id: str
    created_at: datetime
    text: str
    agent: str | None = None
    provider: str | None = None
    model: str | None = None
    status: str = "completed"
    usage: Usage | None = None
    """Tokens of the model calls behind this message, when recorded (the Responses surface keeps them so
    ``GET /v1/responses/{id}`` can show them)."""


class ToolCallItem(Struct, frozen=True, kw_only=True, tag="tool_call"):
    """The assistant asked for a tool."""

    id: str
    created_at: datetime
    call_id: str
    name: str
    arguments: dict[str, Any]


class ToolResultItem(Struct, frozen=True, kw_only=True, tag="tool_result"):
    """A tool's answer to a ``ToolCallItem`` with the same ``call_id``."""

    id: str
    created_at: datetime
    call_id: str
    name: str
    output: str
    is_error: bool = False


ConversationItem = UserMessage | AssistantMessage | ToolCallItem | ToolResultItem


class ConversationInfo(Struct, frozen=True, kw_only=True):
    """A conversation's header (no items)."""

    id: str
    tenant_id: str
    created_at: datetime
    updated_at: datetime
    item_count: int = 0
    title: str | None = None


class ConversationPage(Struct, frozen=True, kw_only=True):
    """One page of conversations, newest first; pass ``next_cursor`` back to get the next page."""

    data: list[ConversationInfo]
    next_cursor: str | None = None


class ConversationDetail(Struct, frozen=True, kw_only=True):
    """A conversation with its items in order."""

    conversation: ConversationInfo
    items: list[ConversationItem]


class SearchHit(Struct, frozen=True, kw_only=True):
    """A conversation item matching a search, with the conversation it belongs to."""

    conversation_id: str
    item_id: str
    snippet: str
