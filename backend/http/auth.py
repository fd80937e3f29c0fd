"""API-key authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key``) -> ``Principal``."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException

from backend.http.ratelimit_headers import rate_limit_headers
from backend.http.svcs_plugin import container_of
from backend.services.limits import Limits
from contracts.auth import Principal
from contracts.errors import Forbidden
from contracts.ports import ApiKeyStore


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    key = connection.headers.get("x-api-key")
    if key is None and connection.scope["type"] == ScopeType.WEBSOCKET:
        # Browsers cannot set headers on a WebSocket; query strings are never logged.
        key = connection.query_params.get("api_key")
    return key or None


async def authenticate_connection(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Resolve the caller or raise 401. The key itself is never logged or echoed."""
    secret = presented_key(connection)
    if secret is None:
        raise NotAuthorizedException("missing API key: send 'Authorization: Bearer <key>'")
    store: ApiKeyStore = await container_of(connection).aget(ApiKeyStore)
    principal = await store.authenticate(secret)
    if principal is None:
        raise NotAuthorizedException("invalid, expired or revoked API key")
    connection.scope.setdefault("state", {})["tenant_id"] = principal.tenant_id  # type: ignore[typeddict-item]
    return principal


def require(principal: Principal, scope: str) -> None:
    if not principal.has(scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope")


async def authenticate(request: Request[Any, Any, Any]) -> Principal:
    """Authenticate, then count the request against the key's requests-per-minute limit; the limit's
    state goes out as ``RateLimit-*`` response headers."""
    principal = await authenticate_connection(request)
    limits: Limits = await container_of(request).aget(Limits)
    decision = await limits.admit_request(principal)
    if decision is not None:
        request.scope["state"]["response_headers"] = rate_limit_headers(  # type: ignore[typeddict-item]
            decision.limit, decision.remaining, decision.reset_s
        )
    return principal


provide_principal = Provide(authenticate)
