"""One pooled ``aiohttp.ClientSession`` per provider instance, and the timeouts of its calls.

Timeouts, and what each bounds:

- ``connect_timeout_s``: opening a TCP (and TLS) connection.
- ``read_timeout_s``: a whole non-streamed answer (request sent -> body read); for a stream, the wait for
  its response headers.
- ``stream_idle_timeout_s``: the longest silence between two pieces of a stream once its headers arrived.
  It measures the upstream, not the consumer: aiohttp stops the clock while a slow reader lets its buffer
  fill (``pause_reading``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

import aiohttp


@functools.cache
def user_agent() -> str:
    """``switchboard/<version>``: what every provider call says it is (upstream logs, the mock's records)."""
    try:
        version = metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"switchboard/{version}"


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Timeouts (seconds) and pool size of one provider instance's HTTP client.

    ``max_connections``: open connections at most (calls beyond it wait for a free one, within
    ``connect_timeout_s``). ``keepalive_s``: how long an idle pooled connection is kept.
    """

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    stream_idle_timeout_s: float = 60.0
    max_connections: int = 1000
    keepalive_s: float = 30.0


class PooledSession:
    """Creates the instance's session on first use, inside the running loop (aiohttp sessions belong to
    the loop that made them), keeps connections alive between calls, and closes them on ``aclose``."""

    def __init__(self, limits: HttpLimits, headers: Mapping[str, str]) -> None:
        self.limits = limits
        self._headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None
        self.answer_timeout = aiohttp.ClientTimeout(
            total=limits.read_timeout_s,
            connect=limits.connect_timeout_s,
            sock_connect=limits.connect_timeout_s,
        )
        """For a non-streamed call: the whole answer within ``read_timeout_s``."""
        self.stream_timeout = aiohttp.ClientTimeout(
            total=None,
            connect=limits.connect_timeout_s,
            sock_connect=limits.connect_timeout_s,
            sock_read=limits.read_timeout_s,
        )
        """For a stream until its headers arrive (then ``watch_idle`` switches to the idle timeout)."""
        self.ping_timeout = aiohttp.ClientTimeout(
            total=min(limits.read_timeout_s, 5.0),
            connect=limits.connect_timeout_s,
            sock_connect=limits.connect_timeout_s,
        )
        """For a health check: short, never longer than 5 s."""

    def get(self) -> aiohttp.ClientSession:
        """The shared session (created on the first call; call it from inside the running loop)."""
        session = self._session
        if session is None or session.closed:
            limits = self.limits
            connector = aiohttp.TCPConnector(
                limit=limits.max_connections,
                limit_per_host=0,
                keepalive_timeout=limits.keepalive_s,
                ttl_dns_cache=300,
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=self.answer_timeout,
                raise_for_status=False,
            )
        return session

    def watch_idle(self, response: aiohttp.ClientResponse, seconds: float | None = None) -> None:
        """From now on, fail the read of ``response`` after ``seconds`` (default: the stream idle timeout)
        without a byte from the upstream (aiohttp raises ``SocketTimeoutError`` from the read)."""
        connection = response.connection
        protocol = connection.protocol if connection is not None else None
        if protocol is not None:
            protocol.read_timeout = self.limits.stream_idle_timeout_s if seconds is None else seconds
            protocol.start_timeout()

    async def aclose(self) -> None:
        """Close the pooled connections (safe to call twice, and before any call was made)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
            # Let the transports finish closing before the loop may end (aiohttp's documented advice).
            await asyncio.sleep(0)
