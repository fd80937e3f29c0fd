"""``POST /v1/chat/completions``: JSON or SSE, pass-through to an OpenAI-kind deployment in Chat
Completions mode, the neutral call elsewhere. Same key, tenant, scopes, limits, guardrails, usage and
routing as ``/v1/chat``; OpenAI's error envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody
from litestar.response import Stream

from backend.http.auth import GUARDS, require
from backend.http.sse import with_heartbeats
from backend.http.surfaces.body import raw_json
from backend.http.surfaces.openai_chat.mapping import to_model_request
from backend.http.surfaces.openai_chat.serving import chunk_stream, completion_body
from backend.http.surfaces.openai_chat.wire import ChatRequestIn, CompletionOut
from backend.http.surfaces.openai_errors import OPENAI_EXCEPTION_HANDLERS
from backend.http.surfaces.openapi_docs import openai_responses
from backend.http.svcs_plugin import Injected, bundle
from backend.services.completions import CompletionService
from backend.services.drain import Drain, within_drain
from backend.settings import ChatSettings
from contracts.auth import SCOPE_CHAT, Principal
from contracts.errors import ShuttingDown
from contracts.models import PROTOCOL_OPENAI_CHAT, WireCall

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(slots=True)
class Ports:
    principal: Principal
    completions: CompletionService
    chat_settings: ChatSettings
    drain: Drain


class OpenAIChatController(Controller):
    path = "/v1/chat/completions"
    guards = GUARDS
    tags = ["openai"]
    dependencies = {"ports": bundle(Ports)}
    exception_handlers = OPENAI_EXCEPTION_HANDLERS

    @post(
        "/",
        status_code=200,
        summary="OpenAI Chat Completions (JSON or SSE)",
        responses=openai_responses(
            CompletionOut, "chat.completion; text/event-stream chunks when stream is true"
        ),
        description="Any OpenAI client: set its base URL to this service's /v1. docs/openai-compatibility.md",
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ChatRequestIn],
        ports: Injected[Ports],
    ) -> Response[bytes] | Stream:
        principal, completions, drain = ports.principal, ports.completions, ports.drain
        require(principal, SCOPE_CHAT)
        body, raw = data, await raw_json(request)
        if body.stream and drain.draining:
            raise ShuttingDown()
        neutral = to_model_request(body, raw)
        streaming = bool(body.stream)
        wire = WireCall(protocol=PROTOCOL_OPENAI_CHAT, body=raw, stream=streaming)
        call = await completions.prepare(
            principal,
            neutral,
            body.model,
            surface=PROTOCOL_OPENAI_CHAT,
            wire=wire,
            streaming=streaming,
            store=bool(body.store),
        )
        if not streaming:
            answer = await within_drain(drain, completions.complete(call))
            content = answer.body or completion_body(answer.response, model=call.route.model_name)
            return Response(content, media_type="application/json", headers=_headers(call.conversation_id))
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        frames = chunk_stream(
            completions.stream(call), model=call.route.model_name, include_usage=include_usage
        )
        stream = with_heartbeats(frames, heartbeat_s=ports.chat_settings.sse_heartbeat_s)
        return Stream(stream, media_type="text/event-stream", headers=SSE_HEADERS)


def _headers(conversation_id: str | None) -> dict[str, str] | None:
    return {"X-Conversation-Id": conversation_id} if conversation_id else None
