"""Responses-API state on our conversations: ``store`` and ``previous_response_id``.

A stored response is a turn of a conversation of the caller's tenant: its input items (user messages,
tool outputs the client ran), the function calls the model asked for, and the assistant message, whose
id IS the response id: ``resp_<conversation id (32 hex)><16 hex>``. So a chain started on one provider
continues on another (the history is neutral), and ``GET /v1/conversations`` shows it too.

``previous_response_id`` naming the newest response of its conversation continues that conversation;
naming an older one forks: a new conversation starts with the history up to that response.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from contracts.conversations import AssistantMessage, ConversationItem, ToolCallItem
from contracts.errors import NotFound
from contracts.models import ModelResponse
from contracts.ports import SessionStore

PREFIX = "resp_"
_CID_LENGTH = 32


def response_id(conversation_id: str) -> str:
    return f"{PREFIX}{conversation_id}{uuid.uuid4().hex[:16]}"


def conversation_of(response: str) -> str | None:
    """The conversation a response id belongs to (None when it is not one of ours)."""
    if not response.startswith(PREFIX) or len(response) != len(PREFIX) + _CID_LENGTH + 16:
        return None
    return response[len(PREFIX) : len(PREFIX) + _CID_LENGTH]


@dataclass(frozen=True, slots=True)
class Chain:
    """Where the next response goes: the conversation to append to, and the history before it (the items
    to copy first when forking)."""

    conversation_id: str
    history: list[ConversationItem]
    fork: bool


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A stored response: its message, the function calls it asked for, and its conversation."""

    conversation_id: str
    message: AssistantMessage
    calls: list[ToolCallItem]


class ResponseChains:
    def __init__(
        self, sessions: SessionStore, new_id: Callable[[], str], clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._new_id = new_id
        self._clock = clock

    async def _items(self, tenant_id: str, response: str) -> tuple[str, list[ConversationItem], int]:
        conversation_id = conversation_of(response)
        if conversation_id is None:
            raise NotFound("response", response)
        items = await self._sessions.load_items(tenant_id, conversation_id)
        for index, item in enumerate(items):
            if isinstance(item, AssistantMessage) and item.id == response:
                return conversation_id, items, index
        raise NotFound("response", response)

    async def continue_from(self, tenant_id: str, previous: str | None) -> Chain:
        """The chain a new response joins (a new conversation when ``previous`` is None)."""
        if previous is None:
            return Chain(conversation_id=self._new_id(), history=[], fork=False)
        conversation_id, items, index = await self._items(tenant_id, previous)
        if index == len(items) - 1:
            return Chain(conversation_id=conversation_id, history=items, fork=False)
        return Chain(conversation_id=self._new_id(), history=items[: index + 1], fork=True)

    async def save(
        self,
        tenant_id: str,
        chain: Chain,
        inputs: Sequence[ConversationItem],
        response: ModelResponse,
        identifier: str,
    ) -> None:
        """Append the turn (copying the history first when forking)."""
        now = self._clock()
        calls = [
            ToolCallItem(
                id=self._new_id(), created_at=now, call_id=c.call_id, name=c.name, arguments=c.arguments
            )
            for c in response.tool_calls
        ]
        message = AssistantMessage(
            id=identifier,
            created_at=now,
            text=response.text,
            provider=response.provider,
            model=response.model,
            usage=response.usage,
        )
        items = [*(chain.history if chain.fork else []), *inputs, *calls, message]
        await self._sessions.append(tenant_id, chain.conversation_id, items)

    async def get(self, tenant_id: str, response: str) -> StoredResponse:
        conversation_id, items, index = await self._items(tenant_id, response)
        message = items[index]
        assert isinstance(message, AssistantMessage)
        calls: list[ToolCallItem] = []
        for item in reversed(items[:index]):
            if not isinstance(item, ToolCallItem):
                break
            calls.insert(0, item)
        return StoredResponse(conversation_id=conversation_id, message=message, calls=calls)

    async def delete(self, tenant_id: str, response: str) -> None:
        """Deletes the conversation holding the response (the whole chain: the store keeps no partial
        conversations)."""
        conversation_id, _items, _index = await self._items(tenant_id, response)
        await self._sessions.delete(tenant_id, conversation_id)
