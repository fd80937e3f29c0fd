"""``POST /v1/messages`` (JSON or SSE) and ``POST /v1/messages/count_tokens``: pass-through to a deployment
speaking Anthropic's Messages protocol, the neutral call elsewhere. Same key (``x-api-key`` or
``Authorization: Bearer``), tenant, scopes, limits, guardrails, usage and routing as ``/v1/chat``; the
``model`` resolves as on ``/v1/chat/completions`` (route alias, provider, ``provider/model``, else an
upstream model of the default provider); Anthropic's error envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import JSONBody
from litestar.response import Stream

from backend.http.auth import GUARDS, require
from backend.http.sse import with_heartbeats
from backend.http.surfaces.anthropic_errors import ANTHROPIC_EXCEPTION_HANDLERS
from backend.http.surfaces.anthropic_messages.mapping import estimate_tokens, to_model_request
from backend.http.surfaces.anthropic_messages.serving import PING, event_stream, message_body
from backend.http.surfaces.anthropic_messages.wire import (
    CountOut,
    CountTokensIn,
    MessageOut,
    MessagesRequestIn,
)
from backend.http.surfaces.body import raw_json
from backend.http.surfaces.openapi_docs import anthropic_responses
from backend.http.svcs_plugin import Injected, bundle
from backend.services.completions import CompletionService
from backend.services.drain import Drain, until_stopped, within_drain
from backend.settings import ChatSettings
from contracts.auth import SCOPE_CHAT, Principal
from contracts.errors import ShuttingDown
from contracts.models import PROTOCOL_ANTHROPIC_MESSAGES, WireCall
from contracts.ports import ProviderDirectory

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
COUNT_SOURCE_HEADER = "x-switchboard-token-count"
"""``upstream`` (an Anthropic deployment counted) or ``estimate`` (see ``mapping.estimate_tokens``)."""


@dataclass(slots=True)
class Ports:
    principal: Principal
    completions: CompletionService
    chat_settings: ChatSettings
    drain: Drain


@dataclass(slots=True)
class CountPorts:
    principal: Principal
    providers: ProviderDirectory


class AnthropicMessagesController(Controller):
    path = "/v1/messages"
    tags = ["anthropic"]
    guards = GUARDS
    dependencies = {"ports": bundle(Ports), "counting": bundle(CountPorts)}
    exception_handlers = ANTHROPIC_EXCEPTION_HANDLERS

    @post(
        "/",
        status_code=200,
        summary="Anthropic Messages (JSON or SSE)",
        responses=anthropic_responses(MessageOut, "message; text/event-stream events when stream is true"),
        description="Any Anthropic client: set its base URL to this service's root. docs/anthropic-compatibility.md",
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MessagesRequestIn],
        ports: Injected[Ports],
    ) -> Response[bytes] | Stream:
        principal, completions, drain = ports.principal, ports.completions, ports.drain
        require(principal, SCOPE_CHAT)
        body, raw = data, await raw_json(request)
        if body.stream and drain.draining:
            raise ShuttingDown()
        mapped = to_model_request(body, raw)
        streaming = bool(body.stream)
        wire = WireCall(protocol=PROTOCOL_ANTHROPIC_MESSAGES, body=raw, stream=streaming)
        call = await completions.prepare(
            principal,
            mapped.request,
            body.model,
            surface=PROTOCOL_ANTHROPIC_MESSAGES,
            wire=wire,
            streaming=streaming,
        )
        if mapped.refusal is not None and (
            call.wire is None or not call.route.model.passes_through(PROTOCOL_ANTHROPIC_MESSAGES)
        ):
            completions.abandon(call)
            raise mapped.refusal
        if not streaming:
            answer = await within_drain(drain, completions.complete(call))
            content = answer.body or message_body(answer.response, model=call.route.model_name)
            return Response(content, media_type="application/json")
        frames = event_stream(until_stopped(completions.stream(call), drain), model=call.route.model_name)
        stream = with_heartbeats(frames, heartbeat_s=ports.chat_settings.sse_heartbeat_s, heartbeat=PING)
        return Stream(stream, media_type="text/event-stream", headers=SSE_HEADERS)

    @post(
        "/count_tokens",
        status_code=200,
        summary="Anthropic token counting",
        responses=anthropic_responses(CountOut),
        description=(
            "Counted by the route's first Anthropic deployment; elsewhere an estimate "
            f"({COUNT_SOURCE_HEADER} says which). docs/anthropic-compatibility.md"
        ),
    )
    async def count_tokens(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CountTokensIn],
        counting: Injected[CountPorts],
    ) -> Response[bytes]:
        require(counting.principal, SCOPE_CHAT)
        providers = counting.providers
        body, raw = data, await raw_json(request)
        neutral = to_model_request(
            MessagesRequestIn(
                model=body.model,
                messages=body.messages,
                system=body.system,
                tools=body.tools,
                tool_choice=body.tool_choice,
            ),
            raw,
        ).request
        route = providers.route(body.model)
        counted = await route.model.count_tokens(
            WireCall(protocol=PROTOCOL_ANTHROPIC_MESSAGES, body=raw), neutral
        )
        source = "upstream" if counted is not None else "estimate"
        tokens = counted if counted is not None else estimate_tokens(body, raw)
        return Response(
            _encode_count(tokens), media_type="application/json", headers={COUNT_SOURCE_HEADER: source}
        )


def _encode_count(tokens: int) -> bytes:
    return msgspec.json.encode(CountOut(input_tokens=tokens))
