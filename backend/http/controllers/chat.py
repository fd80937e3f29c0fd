"""``POST /v1/chat`` (JSON), ``POST /v1/chat/stream`` (SSE) and ``GET /v1/chat/stream/{id}`` (resume)."""

from __future__ import annotations

from typing import Annotated

import structlog
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, PathParameter
from litestar.response import Stream

from backend.http.auth import provide_principal, require
from backend.http.sse import encode, log_sink, with_heartbeats
from backend.http.svcs_plugin import Injected, port
from backend.services.background import BackgroundTasks
from backend.services.chat import ChatService, new_id
from backend.settings import ChatSettings, StreamSettings
from contracts.auth import SCOPE_CHAT, Principal
from contracts.chat import ChatRequest, ChatResult
from contracts.errors import NotFound, StoreUnavailable
from contracts.ports import StreamLog

log = structlog.get_logger("switchboard.http")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
LastEventId = Annotated[int, HeaderParameter(name="last-event-id", ge=0, required=False)]


class ChatController(Controller):
    path = "/v1/chat"
    tags = ["chat"]
    dependencies = {
        "principal": provide_principal,
        "chat": port(ChatService),
        "chat_settings": port(ChatSettings),
        "stream_settings": port(StreamSettings),
        "stream_log": port(StreamLog),
        "background": port(BackgroundTasks),
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
        response_description="text/event-stream: run.started, text.delta..., then run.completed or run.failed",
    )
    async def stream(
        self,
        data: JSONBody[ChatRequest],
        principal: NamedDependency[Principal],
        chat: NamedDependency[ChatService],
        chat_settings: NamedDependency[ChatSettings],
        stream_settings: NamedDependency[StreamSettings],
        stream_log: Injected[StreamLog],
        background: NamedDependency[BackgroundTasks],
    ) -> Stream:
        """Errors found before the run starts (auth, validation, limits, input guardrails) are
        problem+json; after that, every error is a terminal ``run.failed`` event (docs/streaming.md).
        With resumable streams on, ``X-Stream-Id`` names the stream for ``GET /v1/chat/stream/{id}``."""
        require(principal, SCOPE_CHAT)
        prepared = await chat.prepare(principal, data, streaming=True)
        headers = {**SSE_HEADERS, "X-Conversation-Id": prepared.conversation_id}
        sink, detach = None, None
        if stream_settings.resume_ttl_s > 0:
            stream_id = new_id()
            try:
                await stream_log.open(stream_id, principal.tenant_id, ttl_s=stream_settings.resume_ttl_s)
            except StoreUnavailable:
                log.warning("sse.resume_unavailable", conversation_id=prepared.conversation_id)
            except BaseException:
                chat.abandon(prepared)
                raise
            else:
                sink, detach = log_sink(stream_log, stream_id), background
                headers["X-Stream-Id"] = stream_id
        frames = encode(chat.stream(prepared), conversation_id=prepared.conversation_id, sink=sink)
        body = with_heartbeats(frames, heartbeat_s=chat_settings.sse_heartbeat_s, detach_into=detach)
        return Stream(body, media_type="text/event-stream", headers=headers)

    @get(
        "/stream/{stream_id:str}",
        summary="Resume a stream after Last-Event-ID (any instance)",
        response_description="text/event-stream: the missed events, then the rest live, then the terminal one",
    )
    async def resume(
        self,
        stream_id: Annotated[str, PathParameter(max_length=64)],
        principal: NamedDependency[Principal],
        chat_settings: NamedDependency[ChatSettings],
        stream_log: Injected[StreamLog],
        last_event_id: LastEventId = 0,
    ) -> Stream:
        require(principal, SCOPE_CHAT)
        if await stream_log.tenant_of(stream_id) != principal.tenant_id:
            raise NotFound("stream", stream_id)
        frames = (data async for _, data in stream_log.follow(stream_id, last_event_id))
        body = with_heartbeats(frames, heartbeat_s=chat_settings.sse_heartbeat_s)
        return Stream(body, media_type="text/event-stream", headers=SSE_HEADERS)
