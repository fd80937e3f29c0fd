"""``/v1/conversations``: the caller's tenant's conversations (another tenant's are 404)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from backend.http.auth import GUARDS, provide_principal, require
from backend.http.openapi import problems
from backend.http.svcs_plugin import Injected, port
from contracts.auth import SCOPE_CHAT, SCOPE_READ, Principal
from contracts.conversations import ConversationDetail, ConversationPage
from contracts.errors import NotFound
from contracts.ports import SessionStore

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="page size")]
Cursor = Annotated[str | None, QueryParameter(max_length=512, description="from next_cursor")]
ConversationId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ConversationController(Controller):
    path = "/v1/conversations"
    tags = ["conversations"]
    guards = GUARDS
    dependencies = {"principal": provide_principal, "sessions": port(SessionStore)}

    @get("/", summary="List conversations, most recently updated first", responses=problems(403, 422))
    async def list_conversations(
        self,
        principal: NamedDependency[Principal],
        sessions: Injected[SessionStore],
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> ConversationPage:
        require(principal, SCOPE_READ)
        return await sessions.list(principal.tenant_id, limit=limit, cursor=cursor)

    @get(
        "/{conversation_id:str}",
        summary="A conversation with its items in order",
        responses=problems(403, 404),
    )
    async def get_conversation(
        self,
        conversation_id: ConversationId,
        principal: NamedDependency[Principal],
        sessions: Injected[SessionStore],
    ) -> ConversationDetail:
        require(principal, SCOPE_READ)
        info = await sessions.get(principal.tenant_id, conversation_id)
        if info is None:
            raise NotFound("conversation", conversation_id)
        items = await sessions.load_items(principal.tenant_id, conversation_id)
        return ConversationDetail(conversation=info, items=items)

    @delete(
        "/{conversation_id:str}",
        summary="Delete a conversation and all its items",
        status_code=204,
        responses=problems(403, 404),
    )
    async def delete_conversation(
        self,
        conversation_id: ConversationId,
        principal: NamedDependency[Principal],
        sessions: Injected[SessionStore],
    ) -> None:
        require(principal, SCOPE_CHAT)
        if not await sessions.delete(principal.tenant_id, conversation_id):
            raise NotFound("conversation", conversation_id)
