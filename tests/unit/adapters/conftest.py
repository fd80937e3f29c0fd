"""Fakes shared by the adapter tests: an in-memory ``SessionStore`` and a fixed clock."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from contracts.conversations import (
    AssistantMessage,
    ConversationInfo,
    ConversationItem,
    ConversationPage,
    SearchHit,
    UserMessage,
)

FIXED_NOW = datetime(2024, 5, 1, 12, 30, 0, tzinfo=UTC)


class FakeSessionStore:
    """A tiny in-memory ``SessionStore``: enough for the conversation search tool."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], list[ConversationItem]] = {}
        self.searches: list[tuple[str, str, int]] = []

    async def append(
        self, tenant_id: str, conversation_id: str, items: Sequence[ConversationItem]
    ) -> ConversationInfo:
        self.items.setdefault((tenant_id, conversation_id), []).extend(items)
        info = await self.get(tenant_id, conversation_id)
        assert info is not None
        return info

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationInfo | None:
        items = self.items.get((tenant_id, conversation_id))
        if items is None:
            return None
        return ConversationInfo(
            id=conversation_id,
            tenant_id=tenant_id,
            created_at=FIXED_NOW,
            updated_at=FIXED_NOW,
            item_count=len(items),
        )

    async def load_items(
        self, tenant_id: str, conversation_id: str, *, limit: int | None = None
    ) -> builtins.list[ConversationItem]:
        items = self.items.get((tenant_id, conversation_id), [])
        return items[-limit:] if limit else list(items)

    async def list(self, tenant_id: str, *, limit: int, cursor: str | None = None) -> ConversationPage:
        infos = [await self.get(tenant, conv) for tenant, conv in self.items if tenant == tenant_id]
        return ConversationPage(data=[info for info in infos if info is not None][:limit])

    async def delete(self, tenant_id: str, conversation_id: str) -> bool:
        return self.items.pop((tenant_id, conversation_id), None) is not None

    async def search(self, tenant_id: str, query: str, *, limit: int = 5) -> builtins.list[SearchHit]:
        self.searches.append((tenant_id, query, limit))
        hits = [
            SearchHit(conversation_id=conv, item_id=item.id, snippet=item.text)
            for (tenant, conv), items in self.items.items()
            if tenant == tenant_id
            for item in items
            if isinstance(item, UserMessage | AssistantMessage) and query.lower() in item.text.lower()
        ]
        return hits[:limit]


@pytest.fixture
def sessions() -> FakeSessionStore:
    return FakeSessionStore()


@pytest.fixture
def fixed_now() -> Callable[[], datetime]:
    return lambda: FIXED_NOW
