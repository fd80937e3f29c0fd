"""The ``search_conversations`` tool: searches the calling tenant's own conversations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec

from adapters.tools.registry import ToolDefinition
from contracts.conversations import SearchHit
from contracts.ports import SessionStore
from contracts.tools import ToolContext

NAME = "search_conversations"


class SearchArguments(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Arguments of ``search_conversations``: a text to look for and how many hits to return."""

    query: Annotated[str, msgspec.Meta(min_length=1)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5


class ConversationSearch:
    """Searches message texts through a ``SessionStore``, scoped to ``context.tenant_id``."""

    def __init__(self, sessions: SessionStore) -> None:
        self._sessions = sessions

    async def search(self, arguments: SearchArguments, context: ToolContext) -> str:
        """One hit per line as ``[<conversation id>] <snippet>``, or a sentence saying nothing matched."""
        # Annotated: in contracts/ports.py ``list[...]`` is shadowed by ``SessionStore.list`` for mypy.
        hits: Sequence[SearchHit] = await self._sessions.search(
            context.tenant_id, arguments.query, limit=arguments.limit
        )
        if not hits:
            return f"no messages matching {arguments.query!r}"
        return "\n".join(f"[{hit.conversation_id}] {hit.snippet}" for hit in hits)

    def definition(self) -> ToolDefinition[SearchArguments]:
        return ToolDefinition(
            name=NAME,
            description="Search the user's earlier conversations for messages containing a text.",
            arguments=SearchArguments,
            handler=self.search,
        )
