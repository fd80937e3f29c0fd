"""Which connections have authenticated: the link between the HTTP server and the auth guard.

The hardened server protocol (``backend/serving/protocol.py``) puts a ``ConnectionTicket`` in each
request's ``scope["extensions"]``; authenticating a request marks its connection, which then no longer
counts against the cap on unauthenticated connections. Under a server without the ticket (tests' ASGI
client, another server) marking is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXTENSION = "switchboard.connection"


class ConnectionTicket:
    """One connection's authentication state; ``on_authenticated`` runs once, on the first success."""

    def __init__(self, on_authenticated: Callable[[], None]) -> None:
        self.authenticated = False
        self._on_authenticated = on_authenticated

    def mark(self) -> None:
        if not self.authenticated:
            self.authenticated = True
            self._on_authenticated()


def mark_authenticated(scope: Any) -> None:
    ticket = (scope.get("extensions") or {}).get(EXTENSION)
    if isinstance(ticket, ConnectionTicket):
        ticket.mark()
