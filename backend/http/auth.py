"""API-key authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key``) -> ``Principal``.

Every ``/v1`` HTTP route has the ``authenticated`` guard, which Litestar runs *before* it reads or parses
the request body: an anonymous client never gets as far as the JSON decoder. The guard also counts the
request against the key's requests-per-minute limit; handlers receive the principal it resolved through
the ``principal`` dependency. WebSockets authenticate in their handler (``backend/http/ws_auth.py``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from backend.http.connection_guard import mark_authenticated
from backend.http.ratelimit_headers import rate_limit_headers
from backend.http.svcs_plugin import container_of
from backend.services.limits import Limits
from contracts.auth import Principal
from contracts.errors import Forbidden
from contracts.ports import ApiKeyStore

_PRINCIPAL = "principal"


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The key from ``Authorization: Bearer`` or ``X-API-Key`` (never from the URL)."""
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    return connection.headers.get("x-api-key") or None


async def resolve_principal(connection: ASGIConnection[Any, Any, Any, Any], secret: str | None) -> Principal:
    """Resolve the caller or raise 401. The key itself is never logged or echoed."""
    if secret is None:
        raise NotAuthorizedException("missing API key: send 'Authorization: Bearer <key>'")
    store: ApiKeyStore = await container_of(connection).aget(ApiKeyStore)
    principal = await store.authenticate(secret)
    if principal is None:
        raise NotAuthorizedException("invalid, expired or revoked API key")
    connection.scope.setdefault("state", {})["tenant_id"] = principal.tenant_id  # type: ignore[typeddict-item]
    mark_authenticated(connection.scope)
    return principal


def require(principal: Principal, scope: str) -> None:
    if not principal.has(scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope")


async def authenticated(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard: authenticate, then count the request against the key's requests-per-minute limit (its state
    goes out as ``RateLimit-*`` headers). Runs before the body is read."""
    principal = await resolve_principal(connection, presented_key(connection))
    limits: Limits = await container_of(connection).aget(Limits)
    decision = await limits.admit_request(principal)
    state = connection.scope["state"]
    if decision is not None:
        state["response_headers"] = rate_limit_headers(  # type: ignore[typeddict-unknown-key]
            decision.limit, decision.remaining, decision.reset_s
        )
    state[_PRINCIPAL] = principal  # type: ignore[typeddict-unknown-key]


def principal_of_connection(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal the ``authenticated`` guard resolved."""
    principal: Principal = connection.scope["state"][_PRINCIPAL]  # type: ignore[typeddict-item]
    return principal


async def principal_of(request: Request[Any, Any, Any]) -> Principal:
    """The principal the ``authenticated`` guard resolved (as a dependency)."""
    return principal_of_connection(request)


provide_principal = Provide(principal_of)
GUARDS = [authenticated]
"""Put on every ``/v1`` HTTP controller or handler."""
