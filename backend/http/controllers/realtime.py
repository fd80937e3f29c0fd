"""``WS /v1/realtime``: a realtime text channel under the same rules as ``/v1/chat``.

Query: ``provider`` (default: the agent's or the default provider), ``agent`` (default agent),
``conversation_id`` (store the session's turns there; default: a new conversation, announced in
``session.started``). Admission (``backend/http/ws_auth.py``): the Origin must be allowed, the key comes
in the ``bearer.<key>`` subprotocol or in headers, never in the URL; the key needs the ``chat`` scope;
opening counts as one request against its requests-per-minute limit. Refusals are close frames after the
handshake: 4400 bad request, 4401 no or bad key, 4403 scope or Origin, 4429 rate limited, 4503 store
down. The session itself (guardrails, limits, storage, usage) is ``backend/services/realtime.py``.

While the instance drains (SIGTERM), new channels are refused (close code 1013, try again later); an open
one is held like a stream and, if still open when the grace period ends, gets an ``error`` event
(``shutting_down``) and close code 1012 (service restart): reconnect, and another instance answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from backend.http.svcs_plugin import container_of
from backend.http.ws_auth import Refused, authenticate_socket, check_origin, selected_subprotocol
from backend.services.drain import Drain, within_drain
from backend.services.limits import Limits
from backend.services.realtime import RealtimeService, RealtimeSession
from backend.settings import ServerSettings
from contracts.auth import SCOPE_CHAT
from contracts.chat import Identifier
from contracts.errors import (
    DomainError,
    ErrorInfo,
    InvalidRequest,
    RateLimited,
    ShuttingDown,
    StoreUnavailable,
)
from contracts.realtime import RealtimeClientEvent, RealtimeError

log = structlog.get_logger("switchboard.realtime")
_decoder = msgspec.json.Decoder(RealtimeClientEvent)
_encoder = msgspec.json.Encoder()
_identifier = msgspec.json.Decoder(Identifier)


@websocket("/v1/realtime")
async def realtime(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept(subprotocols=selected_subprotocol(socket))
    drain = await container_of(socket).aget(Drain)
    if drain.draining:
        await socket.close(code=1013, reason="the server is shutting down; retry")
        return
    try:
        session = await _admit(socket)
    except Refused as refused:
        log.info("realtime.refused", code=refused.code)
        await socket.close(code=refused.code, reason=_reason(refused.reason))
        return
    try:
        await within_drain(drain, _pump(socket, session))
    except ShuttingDown as exc:  # the session was closed by _pump; tell the client why and close
        if socket.connection_state != "disconnect":
            await _send_error(socket, exc.info())
            await socket.close(code=1012, reason="the server is shutting down; reconnect")


async def _admit(socket: WebSocket[Any, Any, Any]) -> RealtimeSession:
    container = container_of(socket)
    server: ServerSettings = await container.aget(ServerSettings)
    check_origin(socket, server.origins)
    principal = await authenticate_socket(socket)
    if not principal.has(SCOPE_CHAT):
        raise Refused(4403, "this API key lacks the 'chat' scope")
    params = socket.query_params
    try:
        await (await container.aget(Limits)).admit_request(principal)
        conversation_id = params.get("conversation_id")
        if conversation_id is not None:
            _valid_id(conversation_id)
        service = await container.aget(RealtimeService)
        return await service.open(
            principal,
            provider=params.get("provider"),
            agent=params.get("agent"),
            conversation_id=conversation_id,
        )
    except DomainError as exc:
        codes = {RateLimited: 4429, StoreUnavailable: 4503}
        raise Refused(next((c for t, c in codes.items() if isinstance(exc, t)), 4400), exc.detail) from None


def _valid_id(value: str) -> None:
    try:
        _identifier.decode(msgspec.json.encode(value))
    except msgspec.ValidationError:
        raise InvalidRequest(
            "conversation_id must be 1-64 of A-Z a-z 0-9 _ . : -", field="conversation_id"
        ) from None


async def _pump(socket: WebSocket[Any, Any, Any], session: RealtimeSession) -> None:
    """Forward both ways until either side closes; closing one side closes the other. Cancelled (by the
    drain), it closes the session and leaves the socket open for the caller to close."""

    async def downstream() -> None:
        async for event in session.events():
            await socket.send_text(_encoder.encode(event).decode())

    sender = asyncio.create_task(downstream())
    receive: asyncio.Future[str] | None = None
    stopped = False
    try:
        while not sender.done():
            receive = asyncio.ensure_future(socket.receive_text())
            done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                break
            try:
                event = _decoder.decode(receive.result())
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                await _send_error(socket, ErrorInfo(code="invalid_event", detail=str(exc)))
                continue
            try:
                refusal = await session.send(event)
            except DomainError as exc:
                refusal = RealtimeError(error=exc.info())
            if refusal is not None:
                await socket.send_text(_encoder.encode(refusal).decode())
    except WebSocketDisconnect:
        log.info("realtime.client_closed")
    except asyncio.CancelledError:
        stopped = True
        raise
    finally:
        if receive is not None:
            receive.cancel()
        await session.close()
        try:
            await asyncio.wait_for(sender, timeout=2)
        except (TimeoutError, Exception):
            sender.cancel()
        if not stopped and socket.connection_state != "disconnect":
            await socket.close()


def _reason(detail: str) -> str:
    """A close reason fits in 123 bytes of UTF-8."""
    return detail.encode()[:120].decode(errors="ignore")


async def _send_error(socket: WebSocket[Any, Any, Any], info: ErrorInfo) -> None:
    await socket.send_text(_encoder.encode(RealtimeError(error=info)).decode())
