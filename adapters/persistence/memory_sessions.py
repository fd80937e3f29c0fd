"""In-process ``SessionStore``: for tests and single-process development (lost on restart)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.persistence.cursors import decode_cursor, encode_cursor
from adapters.persistence.search_snippets import matches, searchable_text, snippet, title_for
from contracts.conversations import ConversationInfo, ConversationItem, ConversationPage, SearchHit
from contracts.errors import InvalidRequest


@dataclass(slots=True)
class _Conversation:
    info: ConversationInfo
    items: list[ConversationItem] = field(default_factory=list)
    item_ids: set[str] = field(default_factory=set)


class MemorySessionStore:
    """Conversations in a dict keyed by ``(tenant_id, conversation_id)``.

    Every method runs without awaiting in between, so appends are atomic on one event loop.
    """

    def __init__(self) -> None:
        self._conversations: dict[tuple[str, str], _Conversation] = {}

    async def append(
        self, tenant_id: str, conversation_id: str, items: Sequence[ConversationItem]
    ) -> ConversationInfo:
        now = datetime.now(UTC)
        current = self._conversations.get((tenant_id, conversation_id))
        known = current.item_ids if current else set()
        new_ids = [item.id for item in items]
        if len(set(new_ids)) != len(new_ids) or known.intersection(new_ids):
            raise InvalidRequest("an item id is repeated in this conversation", field="items")
        if current is None:
            current = _Conversation(
                info=ConversationInfo(
                    id=conversation_id,
                    tenant_id=tenant_id,
                    created_at=now,
                    updated_at=now,
                    title=title_for(items),
                )
            )
            self._conversations[(tenant_id, conversation_id)] = current
        current.items.extend(items)
        current.item_ids.update(new_ids)
        info = current.info
        current.info = ConversationInfo(
            id=info.id,
            tenant_id=info.tenant_id,
            created_at=info.created_at,
            updated_at=now,
            item_count=len(current.items),
            title=info.title,
        )
        return current.info

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationInfo | None:
        current = self._conversations.get((tenant_id, conversation_id))
        return current.info if current else None

    async def load_items(
        self, tenant_id: str, conversation_id: str, *, limit: int | None = None
    ) -> list[ConversationItem]:
        current = self._conversations.get((tenant_id, conversation_id))
        if current is None:
            return []
        if limit is None:
            return list(current.items)
        return current.items[-limit:] if limit > 0 else []

    async def list(self, tenant_id: str, *, limit: int, cursor: str | None = None) -> ConversationPage:
        after = decode_cursor(cursor) if cursor else None
        infos = sorted(
            (c.info for (tenant, _), c in self._conversations.items() if tenant == tenant_id),
            key=lambda info: (info.updated_at, info.id),
            reverse=True,
        )
        if after is not None:
            infos = [info for info in infos if (info.updated_at, info.id) < after]
        page = infos[:limit]
        more = len(infos) > limit
        next_cursor = encode_cursor(page[-1].updated_at, page[-1].id) if more and page else None
        return ConversationPage(data=page, next_cursor=next_cursor)

    async def delete(self, tenant_id: str, conversation_id: str) -> bool:
        return self._conversations.pop((tenant_id, conversation_id), None) is not None

    async def search(self, tenant_id: str, query: str, *, limit: int = 5) -> builtins.list[SearchHit]:
        hits: builtins.list[SearchHit] = []
        if not query.strip():
            return hits
        conversations = sorted(
            (c for (tenant, _), c in self._conversations.items() if tenant == tenant_id),
            key=lambda c: (c.info.updated_at, c.info.id),
            reverse=True,
        )
        for conversation in conversations:
            for item in reversed(conversation.items):
                text = searchable_text(item)
                if text is not None and matches(text, query):
                    hits.append(
                        SearchHit(
                            conversation_id=conversation.info.id,
                            item_id=item.id,
                            snippet=snippet(text, query),
                        )
                    )
                    if len(hits) >= limit:
                        return hits
        return hits
