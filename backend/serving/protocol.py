"""uvicorn's httptools protocol with the limits an Internet-facing server needs (docs/security.md).

uvicorn (0.54, httptools) accepts headers of any size and number, never times out a client that sends
one byte a second, and keeps a new connection that sends nothing open forever. ``GuardedHttpToolsProtocol``
adds, per connection:

- **header size and count** (``max_header_bytes``, ``max_headers``): counted before the bytes are parsed;
  over either, the answer is 431 and the connection is closed;
- **header timeout**: the headers must be complete ``header_timeout_s`` after the request's first byte
  (408, closed); **body timeout**: the body must be complete ``body_timeout_s`` after the headers;
- **idle timeout**: a connection that sends nothing for ``idle_timeout_s`` (before its first request, or
  between keep-alive requests) is closed;
- **unauthenticated connections**: at most ``max_unauthenticated`` open connections per process that have
  not yet made an authenticated request; beyond it a new connection is answered 503 and closed. The
  ``ConnectionTicket`` in each request's scope lets the auth guard mark the connection authenticated.

A WebSocket upgrade hands the connection to the WebSocket protocol: the timers stop and the WebSocket
handler's own admission applies.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.http.connection_guard import EXTENSION, ConnectionTicket

LINGER_S = 1.0
"""How long a refused connection is drained before it is closed."""
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = 16_384
    max_headers: int = 100
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    idle_timeout_s: float = 5.0
    max_unauthenticated: int = 4096


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Limits are per process (``configure_protocol``); so is the set of unauthenticated connections."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    unauthenticated: ClassVar[set[GuardedHttpToolsProtocol]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ticket = ConnectionTicket(self._authenticated)
        self._header_bytes = 0
        self._header_count = 0
        self._awaiting_headers = True
        self._in_body = False
        self._rejected = False
        self._timer: asyncio.TimerHandle | None = None

    # -- connection life --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.unauthenticated) >= self.limits.max_unauthenticated:
            self._reject(503, b"too many connections have not authenticated; retry shortly")
            return
        self.unauthenticated.add(self)
        self._arm(self.limits.idle_timeout_s, 0)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.unauthenticated.discard(self)
        super().connection_lost(exc)

    def _authenticated(self) -> None:
        self.unauthenticated.discard(self)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self.unauthenticated.discard(self)
        super().handle_websocket_upgrade()

    # -- bytes in ---------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._awaiting_headers:
            end = data.find(b"\r\n\r\n")
            counted = len(data) if end < 0 else end + 4
            self._header_bytes += counted
            if self._header_bytes > self.limits.max_header_bytes:
                self._reject(431, b"request headers are too large")
                return
            if self._timer is None or self._header_bytes == counted:  # the request's first bytes
                self._arm(self.limits.header_timeout_s, 408)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {EXTENSION: self._ticket}  # type: ignore[dict-item]
        self._header_count = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._rejected:
            return
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._reject(431, b"too many request header fields")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._rejected:
            return
        self._awaiting_headers = False
        self._header_bytes = 0
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body:
            self._in_body = True
            self._arm(self.limits.body_timeout_s, 408)

    def on_body(self, body: bytes) -> None:
        if not self._rejected and self.cycle is not None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._rejected or self.cycle is None:
            return
        if self._in_body:
            self._in_body = False
            self._disarm()
        self._awaiting_headers = True
        super().on_message_complete()

    # -- timers and refusals ----------------------------------------------------------------------------

    def _arm(self, delay: float, status: int) -> None:
        self._disarm()
        self._timer = self.loop.call_later(delay, self._expire, status)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, status: int) -> None:
        self._timer = None
        if self.cycle is not None and not self.cycle.response_complete and not self._in_body:
            return  # a request is being answered (a stream may be long): not idle
        if status == 0:
            self._close()
        else:
            self._reject(status, b"the request did not arrive in time")

    def _reject(self, status: int, message: bytes) -> None:
        self._rejected = True
        self._disarm()
        self.unauthenticated.discard(self)
        if self.cycle is not None and self.cycle.response_started:
            self._close()
            return
        head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
        self.transport.write(
            head
            + b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % len(message)
            + message
        )
        # Half-close and keep reading (and discarding) for a moment: closing with unread input would
        # reset the connection, and a client still sending its headers would never see the answer.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self._close)

    def _close(self) -> None:
        if self.cycle is not None:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.close()


def configure_protocol(limits: ConnectionLimits) -> None:
    """Bind the protocol to ``limits`` in this process (each worker configures itself in ``create_app``;
    uvicorn gets the class by its import path, ``PROTOCOL``)."""
    GuardedHttpToolsProtocol.limits = limits


PROTOCOL = "backend.serving.protocol:GuardedHttpToolsProtocol"
