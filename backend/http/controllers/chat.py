"""``POST /v1/chat`` (JSON) and ``POST /v1/chat/stream`` (SSE)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import Stream

from backend.http.auth import provide_principal, require
from backend.http.sse import sse_frames
from backend.http.svcs_plugin import port
from backend.services.chat import ChatService
from backend.settings import ChatSettings
from contracts.auth import SCOPE_CHAT, Principal
from contracts.chat import ChatRequest, ChatResult


class ChatController(Controller):
    path = "/v1/chat"
    tags = ["chat"]
    dependencies = {
        "principal": provide_principal,
        "chat": port(ChatService),
        "chat_settings": port(ChatSettings),
    }

    @post("/", status_code=200, summary="Run one chat turn and return the answer")
    async def chat(
        self,
        data: JSONBody[ChatRequest],
        principal: NamedDependency[Principal],
        chat: NamedDependency[ChatService],
    ) -> ChatResult:
        """The smallest body is ``{"message": "..."}``. The turn is stored before the answer returns."""
        require(principal, SCOPE_CHAT)
        return await chat.chat(principal, data)

    @post(
        "/stream",
        status_code=200,
        summary="Run one chat turn as Server-Sent Events",
        response_description="text/event-stream of run.started, text.delta..., then run.completed or run.failed",
    )
    async def stream(
        self,
        data: JSONBody[ChatRequest],
        principal: NamedDependency[Principal],
        chat: NamedDependency[ChatService],
        chat_settings: NamedDependency[ChatSettings],
    ) -> Stream:
        """Errors found before the run starts (auth, validation, input guardrails) are problem+json;
        after that, every error is a terminal ``run.failed`` event (docs/streaming.md)."""
        require(principal, SCOPE_CHAT)
        prepared = await chat.prepare(principal, data)
        body = sse_frames(
            chat.stream(prepared),
            heartbeat_s=chat_settings.sse_heartbeat_s,
            conversation_id=prepared.conversation_id,
        )
        return Stream(
            body,
            media_type="text/event-stream",
            headers={
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
                "X-Conversation-Id": prepared.conversation_id,
            },
        )
