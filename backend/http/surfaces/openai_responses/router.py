"""``POST /v1/responses`` (JSON or SSE), ``GET /v1/responses/{id}``, ``DELETE /v1/responses/{id}``.

``store`` (default true, as with OpenAI) keeps the exchange as a turn of a conversation of the caller's
tenant; ``previous_response_id`` continues it (or forks it from an older response), on whatever provider
the route picks now. A stateless call (``store: false`` without ``previous_response_id``) to a
Responses-mode OpenAI deployment is a pass-through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import JSONBody, PathParameter
from litestar.response import Stream

from backend.http.auth import GUARDS, require
from backend.http.sse import with_heartbeats
from backend.http.surfaces.body import raw_json
from backend.http.surfaces.openai_errors import OPENAI_EXCEPTION_HANDLERS
from backend.http.surfaces.openai_responses.mapping import to_model_request
from backend.http.surfaces.openai_responses.serving import (
    ResponseShell,
    event_stream,
    output_items,
    response_body,
    usage_out,
)
from backend.http.surfaces.openai_responses.wire import DeletedOut, ResponseOut, ResponsesRequestIn
from backend.http.surfaces.openapi_docs import openai_responses
from backend.http.svcs_plugin import Injected, bundle
from backend.services.completions import CompletionService, PreparedCall
from backend.services.drain import Drain, until_stopped, within_drain
from backend.services.response_chains import Chain, ResponseChains, response_id
from backend.services.turns import new_id, utcnow
from backend.settings import ChatSettings
from contracts.auth import SCOPE_CHAT, SCOPE_READ, Principal
from contracts.conversations import ConversationItem
from contracts.errors import ShuttingDown
from contracts.models import PROTOCOL_OPENAI_RESPONSES, ModelDone, ModelResponse, WireCall
from contracts.ports import SessionStore
from contracts.tools import ToolCall

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
ResponseId = Annotated[str, PathParameter(max_length=128)]
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class Ports:
    principal: Principal
    completions: CompletionService
    sessions: SessionStore
    chat_settings: ChatSettings
    drain: Drain


@dataclass(slots=True)
class StoredPorts:
    principal: Principal
    sessions: SessionStore


class OpenAIResponsesController(Controller):
    path = "/v1/responses"
    guards = GUARDS
    tags = ["openai"]
    dependencies = {"ports": bundle(Ports), "stored": bundle(StoredPorts)}
    exception_handlers = OPENAI_EXCEPTION_HANDLERS

    @post(
        "/",
        status_code=200,
        summary="OpenAI Responses (JSON or SSE), chained through our conversations",
        responses=openai_responses(ResponseOut, "response; text/event-stream events when stream is true"),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResponsesRequestIn],
        ports: Injected[Ports],
    ) -> Response[bytes] | Stream:
        principal, completions, drain = ports.principal, ports.completions, ports.drain
        require(principal, SCOPE_CHAT)
        body, raw = data, await raw_json(request)
        if body.stream and drain.draining:
            raise ShuttingDown()
        store = body.store is not False
        chains = ResponseChains(ports.sessions, new_id, utcnow)
        chain = await chains.continue_from(principal.tenant_id, body.previous_response_id)
        neutral, inputs = to_model_request(body, raw, chain.history, new_id=new_id, now=utcnow())
        streaming = bool(body.stream)
        stateless = not store and body.previous_response_id is None
        wire = WireCall(protocol=PROTOCOL_OPENAI_RESPONSES, body=raw, stream=streaming) if stateless else None
        call = await completions.prepare(
            principal, neutral, body.model, surface=PROTOCOL_OPENAI_RESPONSES, wire=wire, streaming=streaming
        )
        identifier = response_id(chain.conversation_id)
        shell = ResponseShell(
            id=identifier,
            model=call.route.model_name,
            instructions=body.instructions,
            previous_response_id=body.previous_response_id,
            metadata=body.metadata or {},
            store=store,
        )
        if not streaming:
            answer = await within_drain(drain, completions.complete(call))
            if store:
                await chains.save(principal.tenant_id, chain, inputs, answer.response, identifier)
            content = answer.body if answer.body is not None else response_body(shell, answer.response)
            return Response(content, media_type="application/json")
        events = (
            _stored(completions, call, chains, chain, inputs, identifier)
            if store
            else completions.stream(call)
        )
        frames = event_stream(until_stopped(events, drain), shell)
        return Stream(
            with_heartbeats(frames, heartbeat_s=ports.chat_settings.sse_heartbeat_s),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    @get("/{response_id:str}", summary="A stored response", responses=openai_responses(ResponseOut))
    async def retrieve(
        self,
        response_id: ResponseId,
        stored: Injected[StoredPorts],
    ) -> Response[bytes]:
        principal = stored.principal
        require(principal, SCOPE_READ)
        stored_turn = await ResponseChains(stored.sessions, new_id, utcnow).get(
            principal.tenant_id, response_id
        )
        message = stored_turn.message
        response = ModelResponse(
            text=message.text,
            tool_calls=tuple(
                ToolCall(call_id=c.call_id, name=c.name, arguments=c.arguments) for c in stored_turn.calls
            ),
            usage=message.usage or ModelResponse().usage,
            provider=message.provider or "",
            model=message.model or "",
        )
        out = ResponseOut(
            id=message.id,
            created_at=int(message.created_at.timestamp()),
            model=response.model,
            status="completed" if message.status == "completed" else "failed",
            output=output_items(response, message.id),
            usage=usage_out(message.usage),
        )
        return Response(_encode(out), media_type="application/json")

    @delete(
        "/{response_id:str}",
        status_code=200,
        summary="Delete a stored response (and its conversation)",
        responses=openai_responses(DeletedOut),
    )
    async def remove(
        self,
        response_id: ResponseId,
        stored: Injected[StoredPorts],
    ) -> Response[bytes]:
        require(stored.principal, SCOPE_CHAT)
        await ResponseChains(stored.sessions, new_id, utcnow).delete(stored.principal.tenant_id, response_id)
        return Response(_encode(DeletedOut(id=response_id)), media_type="application/json")


async def _stored(
    completions: CompletionService,
    call: PreparedCall,
    chains: ResponseChains,
    chain: Chain,
    inputs: list[ConversationItem],
    identifier: str,
) -> Any:
    """The call's events; the turn is stored before the terminal event goes out."""
    async for event in completions.stream(call):
        if type(event) is ModelDone:
            await chains.save(call.principal.tenant_id, chain, inputs, event.response, identifier)
        yield event
