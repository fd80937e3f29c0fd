"""``WS /v1/realtime``: a realtime text channel through the provider's ``RealtimeChannelFactory``.

Query: ``provider`` (default: the default provider), ``agent`` (instructions; default agent). Auth as for
HTTP (``Authorization: Bearer``), or ``?api_key=`` for browsers, which cannot set headers on a WebSocket.
Opening a channel counts as one request against the key's requests-per-minute limit (close code 4429).
Client frames are JSON realtime client events; server frames are JSON realtime server events.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import NotAuthorizedException, WebSocketDisconnect

from backend.http.auth import authenticate_connection
from backend.http.svcs_plugin import container_of
from backend.services.limits import Limits
from contracts.auth import SCOPE_CHAT
from contracts.errors import DomainError, ErrorInfo, RateLimited
from contracts.ports import AgentCatalog, ProviderDirectory, RealtimeChannel
from contracts.realtime import RealtimeClientEvent, RealtimeError, RealtimeSessionRequest

log = structlog.get_logger("switchboard.realtime")
_decoder = msgspec.json.Decoder(RealtimeClientEvent)
_encoder = msgspec.json.Encoder()


@websocket("/v1/realtime")
async def realtime(socket: WebSocket[Any, Any, Any]) -> None:
    try:
        principal = await authenticate_connection(socket)
    except NotAuthorizedException:
        await socket.close(code=4401, reason="missing or invalid API key")
        return
    if not principal.has(SCOPE_CHAT):
        await socket.close(code=4403, reason="this API key lacks the 'chat' scope")
        return
    container = container_of(socket)
    try:
        await (await container.aget(Limits)).admit_request(principal)
    except DomainError as exc:  # RateLimited, or StoreUnavailable when limits fail closed
        await socket.close(code=4429 if isinstance(exc, RateLimited) else 4503, reason=_reason(exc.detail))
        return
    providers = await container.aget(ProviderDirectory)
    catalog = await container.aget(AgentCatalog)
    try:
        agent = catalog.get(socket.query_params.get("agent") or catalog.default_key)
        factory = providers.realtime(socket.query_params.get("provider") or providers.default)
        await socket.accept()
        channel = await factory.open(
            RealtimeSessionRequest(
                tenant_id=principal.tenant_id, instructions=agent.instructions, model=agent.model
            )
        )
    except DomainError as exc:
        if socket.connection_state == "init":
            await socket.close(code=4400, reason=_reason(exc.detail))
        else:
            await _send_error(socket, exc.info())
            await socket.close(code=1011)
        return
    await _pump(socket, channel)


async def _pump(socket: WebSocket[Any, Any, Any], channel: RealtimeChannel) -> None:
    """Forward both ways until either side closes; closing one side closes the other."""

    async def downstream() -> None:
        async for event in channel.events():
            await socket.send_text(_encoder.encode(event).decode())

    sender = asyncio.create_task(downstream())
    try:
        while not sender.done():
            receive = asyncio.ensure_future(socket.receive_text())
            done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                break
            try:
                event = _decoder.decode(receive.result())
            except msgspec.ValidationError as exc:
                await _send_error(socket, ErrorInfo(code="invalid_event", detail=str(exc)))
                continue
            try:
                await channel.send(event)
            except DomainError as exc:
                await _send_error(socket, exc.info())
    except WebSocketDisconnect:
        log.info("realtime.client_closed")
    finally:
        await channel.close()
        try:
            await asyncio.wait_for(sender, timeout=2)
        except (TimeoutError, Exception):
            sender.cancel()
        if socket.connection_state != "disconnect":
            await socket.close()


def _reason(detail: str) -> str:
    """A close reason fits in 123 bytes of UTF-8."""
    return detail.encode()[:120].decode(errors="ignore")


async def _send_error(socket: WebSocket[Any, Any, Any], info: ErrorInfo) -> None:
    await socket.send_text(_encoder.encode(RealtimeError(error=info)).decode())
