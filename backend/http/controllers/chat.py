"""``POST /v1/chat`` (JSON), ``POST /v1/chat/stream`` (SSE) and ``GET /v1/chat/stream/{id}`` (resume)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import structlog
from litestar import Controller, get, post
from litestar.params import HeaderParameter, JSONBody, PathParameter
from litestar.response import Stream

from backend.http.auth import GUARDS, require
from backend.http.openapi import problems
from backend.http.sse import encode, log_sink, with_heartbeats
from backend.http.svcs_plugin import Injected, bundle
from backend.services.background import BackgroundTasks
from backend.services.chat import ChatService, new_id
from backend.services.drain import Drain, until_cut, until_drained, within_drain
from backend.settings import ChatSettings, StreamSettings
from contracts.auth import SCOPE_CHAT, Principal
from contracts.chat import ChatRequest, ChatResult
from contracts.errors import NotFound, ShuttingDown, StoreUnavailable
from contracts.ports import StreamLog

log = structlog.get_logger("switchboard.http")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
LastEventId = Annotated[int, HeaderParameter(name="last-event-id", ge=0, required=False)]


@dataclass(slots=True)
class TurnPorts:
    principal: Principal
    chat: ChatService
    drain: Drain


@dataclass(slots=True)
class StreamPorts:
    principal: Principal
    chat: ChatService
    chat_settings: ChatSettings
    stream_settings: StreamSettings
    stream_log: StreamLog
    background: BackgroundTasks
    drain: Drain


@dataclass(slots=True)
class ResumePorts:
    principal: Principal
    chat_settings: ChatSettings
    stream_log: StreamLog
    drain: Drain


class ChatController(Controller):
    path = "/v1/chat"
    tags = ["chat"]
    guards = GUARDS
    dependencies = {
        "turn": bundle(TurnPorts),
        "streaming": bundle(StreamPorts),
        "resuming": bundle(ResumePorts),
    }

    @post(
        "/",
        status_code=200,
        summary="Run one chat turn and return the answer",
        responses=problems(403, 413, 415, 422, 502),
    )
    async def chat(
        self,
        data: JSONBody[ChatRequest],
        turn: Injected[TurnPorts],
    ) -> ChatResult:
        """The smallest body is ``{"message": "..."}``. The turn is stored before the answer returns."""
        require(turn.principal, SCOPE_CHAT)
        return await within_drain(turn.drain, turn.chat.chat(turn.principal, data))

    @post(
        "/stream",
        status_code=200,
        summary="Run one chat turn as Server-Sent Events",
        responses=problems(403, 413, 415, 422, 502),
        media_type="text/event-stream",
        response_description="text/event-stream: run.started, text.delta..., then run.completed or run.failed",
    )
    async def stream(
        self,
        data: JSONBody[ChatRequest],
        streaming: Injected[StreamPorts],
    ) -> Stream:
        """Errors found before the run starts (auth, validation, limits, input guardrails) are
        problem+json; after that, every error is a terminal ``run.failed`` event (docs/streaming.md).
        With resumable streams on, ``X-Stream-Id`` names the stream for ``GET /v1/chat/stream/{id}``."""
        principal, chat, drain, stream_log = (
            streaming.principal,
            streaming.chat,
            streaming.drain,
            streaming.stream_log,
        )
        require(principal, SCOPE_CHAT)
        if drain.draining:
            raise ShuttingDown()
        prepared = await chat.prepare(principal, data, streaming=True)
        headers = {**SSE_HEADERS, "X-Conversation-Id": prepared.conversation_id}
        sink, detach = None, None
        if streaming.stream_settings.resume_ttl_s > 0:
            stream_id = new_id()
            try:
                await stream_log.open(
                    stream_id, principal.tenant_id, ttl_s=streaming.stream_settings.resume_ttl_s
                )
            except StoreUnavailable:
                log.warning("sse.resume_unavailable", conversation_id=prepared.conversation_id)
            except BaseException:
                chat.abandon(prepared)
                raise
            else:
                sink, detach = log_sink(stream_log, stream_id), streaming.background
                headers["X-Stream-Id"] = stream_id
        events = until_drained(chat.stream(prepared), drain, prepared.conversation_id)
        frames = encode(events, conversation_id=prepared.conversation_id, sink=sink)
        body = with_heartbeats(
            frames, heartbeat_s=streaming.chat_settings.sse_heartbeat_s, detach_into=detach
        )
        return Stream(body, media_type="text/event-stream", headers=headers)

    @get(
        "/stream/{stream_id:str}",
        summary="Resume a stream after Last-Event-ID (any instance)",
        responses=problems(403, 404),
        media_type="text/event-stream",
        response_description="text/event-stream: the missed events, then the rest live, then the terminal one",
    )
    async def resume(
        self,
        stream_id: Annotated[str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
        resuming: Injected[ResumePorts],
        last_event_id: LastEventId = 0,
    ) -> Stream:
        """A follower still open when this instance's drain ends stops without a terminal event; the
        client resumes again (on another instance) with the last id it saw."""
        principal, stream_log, drain = resuming.principal, resuming.stream_log, resuming.drain
        require(principal, SCOPE_CHAT)
        if drain.draining:
            raise ShuttingDown()
        if await stream_log.tenant_of(stream_id) != principal.tenant_id:
            raise NotFound("stream", stream_id)
        frames = (data async for _, data in until_cut(stream_log.follow(stream_id, last_event_id), drain))
        body = with_heartbeats(frames, heartbeat_s=resuming.chat_settings.sse_heartbeat_s)
        return Stream(body, media_type="text/event-stream", headers=SSE_HEADERS)
