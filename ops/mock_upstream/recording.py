"""What the mock received: one ``RequestRecord`` per request (``GET /_mock/requests``)."""

from __future__ import annotations

from typing import Any

import msgspec

_HIDDEN_HEADERS = frozenset({"authorization", "api-key", "openai-api-key", "x-api-key"})


class RequestRecord(msgspec.Struct, kw_only=True):
    """One request as the mock saw it.

    ``headers`` are lower-cased and never include credentials (``authorization``, ``x-api-key``...); every other header
    is kept, e.g. ``user-agent`` (which proves which client called). ``credentials``: a credential header
    was sent (never its value). ``client_port``: the caller's TCP port (equal ports: one kept-alive
    connection served both requests). ``status`` is the
    HTTP status answered (101 for a WebSocket). ``completed``: the whole answer was sent.
    ``closed_early``: the client went away (or closed its stream) before the answer was complete.
    ``fault``: the fault applied to this request, if any. ``events``: client event types received on a
    realtime WebSocket.
    """

    seq: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    credentials: bool = False
    client_port: int | None = None
    status: int | None = None
    fault: str | None = None
    stream: bool = False
    completed: bool = False
    closed_early: bool = False
    events: list[str] = msgspec.field(default_factory=list)


class Recorder:
    """Keeps every ``RequestRecord`` in arrival order, plus the keys of ``<fault>-once`` already used."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []
        self.once_keys: set[str] = set()

    def add(
        self, method: str, path: str, headers: dict[str, str], body: Any, *, transport: Any = None
    ) -> RequestRecord:
        """Record a new request (credentials stripped from its headers) and return its record."""
        clean = {k.lower(): v for k, v in headers.items() if k.lower() not in _HIDDEN_HEADERS}
        record = RequestRecord(
            seq=len(self.records) + 1,
            method=method,
            path=path,
            headers=clean,
            body=body,
            credentials=len(clean) < len(headers),
            client_port=_port(transport),
        )
        self.records.append(record)
        return record

    def first_use(self, key: str) -> bool:
        """True the first time ``key`` is seen (for ``<fault>-once``), False afterwards."""
        if key in self.once_keys:
            return False
        self.once_keys.add(key)
        return True

    def reset(self) -> None:
        """Forget every record and every used once-key."""
        self.records.clear()
        self.once_keys.clear()


def _port(transport: Any) -> int | None:
    """The peer's TCP port of a connection (None when unknown)."""
    peer = transport.get_extra_info("peername") if transport is not None else None
    return int(peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
