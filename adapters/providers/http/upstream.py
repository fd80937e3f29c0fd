"""One provider instance's HTTP edge, shared by every kind and every call it makes (model calls, streams,
pass-through, embeddings, moderation, health): POST a JSON body, open a stream, ping, and turn whatever
goes wrong into one classified ``ProviderUnavailable`` (adapters/providers/http/failures.py) that never
carries the instance's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, cast

import aiohttp
from yarl import URL

from adapters.providers.http.failures import TRANSPORT_ERRORS, failure, from_exception, from_status
from adapters.providers.http.session import HttpLimits, PooledSession
from contracts.agents import ProviderHealth
from contracts.errors import ProviderUnavailable
from contracts.models import FailureKind
from contracts.starts import upstream_wait


class HttpSettings(Protocol):
    """The fields every HTTP provider kind's settings have (OpenAI's, Anthropic's)."""

    timeout_s: float
    connect_timeout_s: float
    stream_idle_timeout_s: float
    max_connections: int


def limits_of(settings: HttpSettings) -> HttpLimits:
    return HttpLimits(
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.timeout_s,
        stream_idle_timeout_s=settings.stream_idle_timeout_s,
        max_connections=settings.max_connections,
    )


def call_headers(
    own: Mapping[str, str], extra: Mapping[str, str] | None, *, reserved: frozenset[str]
) -> dict[str, str]:
    """``extra`` (an organisation id, a gateway's routing header) without the ``reserved`` names (lower
    case), then the kind's ``own`` headers."""
    sent = {k: v for k, v in (extra or {}).items() if k.lower() not in reserved}
    sent.update(own)
    return sent


class Upstream:
    """The instance ``name``'s pooled session; ``secret`` (its API key, or empty) is kept out of every
    error it raises."""

    def __init__(self, name: str, secret: str, limits: HttpLimits, headers: Mapping[str, str]) -> None:
        self.name = name
        self._secret = secret
        self.session = PooledSession(limits, headers)

    def scrub(self, error: ProviderUnavailable) -> ProviderUnavailable:
        """``error`` without the key, should anything upstream have smuggled it into a detail."""
        secret = self._secret
        if secret and secret in error.detail:
            kind = cast(FailureKind, error.failure)
            return failure(self.name, kind, status=error.upstream_status, retry_after=error.retry_after)
        return error

    def broken(self, exc: BaseException, *, streaming: bool = False) -> ProviderUnavailable:
        """A transport error (or a body that would not decode) as the classified, scrubbed failure."""
        return self.scrub(from_exception(self.name, exc, streaming=streaming))

    async def post(self, url: URL | str, body: bytes) -> bytes:
        """POST ``body``; the answer's bytes when it is a success, else the classified failure."""
        try:
            response = await self.session.get().post(url, data=body, allow_redirects=False)
            try:
                payload = await response.read()
            finally:
                response.release()
        except TRANSPORT_ERRORS as exc:
            raise self.broken(exc) from exc
        if response.status >= 300:
            raise self.scrub(from_status(self.name, response.status, response.headers, payload))
        return payload

    async def open_stream(self, url: URL, body: bytes) -> aiohttp.ClientResponse:
        """POST ``body`` and return the response once it is a success with a stream body, the idle
        watchdog on. The caller reads it, and releases (or closes) it."""
        session = self.session
        upstream_wait()  # this stream's setup is over (contracts/starts.py)
        try:
            response = await session.get().post(
                url, data=body, timeout=session.stream_timeout, allow_redirects=False
            )
        except TRANSPORT_ERRORS as exc:
            raise self.broken(exc) from exc
        try:
            if response.status >= 300:
                payload = await response.read()
                raise self.scrub(from_status(self.name, response.status, response.headers, payload))
            if response.content_type == "application/json":
                raise failure(self.name, "malformed", phrase="upstream answered a stream with a JSON body")
        except BaseException as exc:
            response.close()
            if isinstance(exc, TRANSPORT_ERRORS):
                raise self.broken(exc) from exc
            raise
        session.watch_idle(response)
        return response

    async def ping(self, url: URL) -> ProviderHealth:
        """GET ``url`` with a short timeout: reachable and accepting our credentials (no tokens)."""
        session = self.session
        try:
            response = await session.get().get(url, timeout=session.ping_timeout, allow_redirects=False)
            try:
                payload = await response.read()
            finally:
                response.release()
        except TRANSPORT_ERRORS as exc:
            return ProviderHealth(ok=False, detail=self.broken(exc).reason)
        if response.status >= 300:
            error = from_status(self.name, response.status, response.headers, payload)
            return ProviderHealth(ok=False, detail=self.scrub(error).reason)
        return ProviderHealth(ok=True)

    async def aclose(self) -> None:
        """Close the pooled connections (safe to call twice)."""
        await self.session.aclose()
