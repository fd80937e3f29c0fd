"""Chat request and result: the body of ``POST /v1/chat`` and what it returns."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Inbound, Struct
from contracts.conversations import ConversationItem
from contracts.guardrails import GuardrailDecision
from contracts.models import Attempt
from contracts.usage import Usage

MAX_MESSAGE_CHARS = 100_000
"""Hard ceiling on one message; policies usually set a lower ``max_length`` rule."""

Message = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MESSAGE_CHARS)]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ChatRequest(Inbound, frozen=True, kw_only=True):
    """One user turn. Only ``message`` is required.

    ``conversation_id``: continue that conversation (or start one with this id); omitted, a new one is
    created. ``agent``: a catalog agent key (default: the catalog's default agent). ``provider``: run on
    this provider, pinned (no fallback). ``model``: a route alias, a provider name, ``provider/model``, or
    an upstream model name for the agent's provider (docs/routing.md).
    """

    message: Message
    conversation_id: Identifier | None = None
    agent: Identifier | None = None
    provider: Identifier | None = None
    model: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")] | None
    ) = None


class ChatResult(Struct, frozen=True, kw_only=True):
    """A finished turn. ``items`` are the items this turn stored (user message, tool calls and results,
    the assistant message), in order. ``offline`` is true when an offline provider answered.
    ``provider``/``model`` are the instance and upstream model that answered; ``route`` the route the turn
    ran on; ``attempts`` the model calls that failed before (retries, fallback)."""

    conversation_id: str
    message_id: str
    output: str
    agent: str
    provider: str
    model: str
    offline: bool
    usage: Usage
    items: list[ConversationItem]
    guardrails: list[GuardrailDecision] = []
    route: str | None = None
    attempts: list[Attempt] = []
