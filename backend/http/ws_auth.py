"""WebSocket admission: Origin allow-list and authentication without a secret in the URL.

Browsers cannot set headers on a WebSocket, but they can offer subprotocols, which travel in the
``Sec-WebSocket-Protocol`` header (never in a URL, so never in access logs, proxy logs or history)::

    new WebSocket("wss://host/v1/realtime", ["switchboard.v1", "bearer." + apiKey])

The server selects ``switchboard.v1`` (the key is never echoed). Other clients may send
``Authorization: Bearer <key>`` or ``X-API-Key`` as for HTTP. A key in the query string (``?api_key=``) is
refused: a URL is logged and cached in too many places.

Refusals are sent *after* accepting the handshake, as a close frame with a code and a reason: a close
before the accept reaches real clients as a bare HTTP 403 (only test clients saw the codes).
"""

from __future__ import annotations

from typing import Any

from litestar import WebSocket
from litestar.exceptions import NotAuthorizedException

from backend.http.auth import presented_key, resolve_principal
from contracts.auth import Principal

SUBPROTOCOL = "switchboard.v1"
BEARER_PREFIX = "bearer."
KEY_IN_URL = "an API key in the URL is refused; send it as the 'bearer.<key>' WebSocket subprotocol"


class Refused(Exception):
    """A connection to turn away with ``code`` and ``reason`` (close codes 4400-4503)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def offered_protocols(socket: WebSocket[Any, Any, Any]) -> list[str]:
    raw = socket.headers.get("sec-websocket-protocol", "")
    return [item.strip() for item in raw.split(",") if item.strip()]


def subprotocol_key(socket: WebSocket[Any, Any, Any]) -> str | None:
    for item in offered_protocols(socket):
        if item.lower().startswith(BEARER_PREFIX) and len(item) > len(BEARER_PREFIX):
            return item[len(BEARER_PREFIX) :]
    return None


def selected_subprotocol(socket: WebSocket[Any, Any, Any]) -> str | None:
    """The subprotocol to answer with: ours when offered (a browser requires one of its offers back)."""
    return SUBPROTOCOL if SUBPROTOCOL in offered_protocols(socket) else None


def check_origin(socket: WebSocket[Any, Any, Any], allowed: tuple[str, ...]) -> None:
    """A browser sends ``Origin``; it must be on the allow-list (``*`` allows any). Clients that send no
    Origin (servers, CLIs) are not browsers and are let through to authenticate."""
    origin = socket.headers.get("origin")
    if origin is None or "*" in allowed or origin.rstrip("/") in allowed:
        return
    raise Refused(4403, "this Origin is not allowed (SWITCHBOARD_ALLOWED_ORIGINS)")


async def authenticate_socket(socket: WebSocket[Any, Any, Any]) -> Principal:
    """The principal behind the subprotocol key or the headers; ``Refused(4401)`` otherwise."""
    query = socket.scope.get("query_string", b"")
    if b"api_key=" in query or b"access_token=" in query:
        raise Refused(4401, KEY_IN_URL)
    secret = subprotocol_key(socket) or presented_key(socket)
    try:
        return await resolve_principal(socket, secret)
    except NotAuthorizedException as exc:
        raise Refused(4401, str(exc.detail)) from None
