"""One set of uvicorn options for ``switchboard serve`` (one or many workers) and the tests' live servers."""

from __future__ import annotations

import math
from typing import Any

from backend.serving.protocol import PROTOCOL, ConnectionLimits, configure_protocol
from backend.settings import ServerSettings

WS_MAX_MESSAGE_BYTES = 1_048_576
"""Largest WebSocket message accepted (uvicorn's default is 16 MiB)."""


def connection_limits(server: ServerSettings) -> ConnectionLimits:
    return ConnectionLimits(
        max_header_bytes=server.max_header_bytes,
        max_headers=server.max_headers,
        header_timeout_s=server.header_timeout_s,
        body_timeout_s=server.body_timeout_s,
        idle_timeout_s=server.idle_timeout_s,
        max_unauthenticated=server.max_unauthenticated,
    )


def uvicorn_options(server: ServerSettings) -> dict[str, Any]:
    """Options for ``uvicorn.Config``/``uvicorn.run`` (host, port, loop and workers are the caller's)."""
    configure_protocol(connection_limits(server))
    return {
        "http": PROTOCOL,
        "log_config": None,  # structlog owns logging
        "access_log": False,  # one line per request comes from RequestLogMiddleware
        "lifespan": "on",
        # uvicorn starts its own countdown only after the drain (ops/serving.py); it must never cut sooner
        # than the drain's grace period would have (what is left then are requests begun during the drain)
        "timeout_graceful_shutdown": max(1, math.ceil(server.drain_grace_s)),
        "timeout_keep_alive": max(1, round(server.idle_timeout_s)),
        "ws_max_size": WS_MAX_MESSAGE_BYTES,
    }
