"""Anthropic's error envelope on the Anthropic-compatible routes: ``{"type": "error", "error": {"type",
"message"}}`` with the statuses the ``anthropic`` client maps to its exceptions (400
``BadRequestError``, 401 ``AuthenticationError``, 403 ``PermissionDeniedError``, 404 ``NotFoundError``,
413 ``ContentTooLargeError``, 429 ``RateLimitError`` whose ``retry-after`` the client honours, 529
``OverloadedError``, other 5xx ``InternalServerError``). Messages are our own; never an upstream's text,
a key or a prompt.

=================================================  ======  ===========================
domain error                                       status  error type
=================================================  ======  ===========================
InvalidRequest, GuardrailBlocked, ProviderRejected  400     invalid_request_error
(missing or unknown key)                           401     authentication_error
Forbidden                                          403     permission_error
NotFound, upstream 404 (model)                     404     not_found_error
(body over SWITCHBOARD_MAX_BODY_BYTES)             413     request_too_large
RateLimited (this key's limits)                    429     rate_limit_error
ProviderUnavailable: overloaded or rate limited    529     overloaded_error
ProviderUnavailable: other, retryable              503     api_error
ProviderUnavailable: not retryable                 502     api_error
StoreUnavailable, ShuttingDown (draining)          503     api_error
anything else                                      500     api_error
=================================================  ======  ===========================
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from backend.http.ratelimit_headers import rate_limit_headers
from backend.http.surfaces.anthropic_messages.wire import ErrorBodyOut, ErrorOut
from backend.http.surfaces.body import invalid_body
from contracts.errors import (
    BudgetExceeded,
    DomainError,
    Forbidden,
    GuardrailBlocked,
    InvalidRequest,
    NotFound,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
    ShuttingDown,
    StoreUnavailable,
)

log = structlog.get_logger("switchboard.http")
_encode = msgspec.json.Encoder().encode
_INTERNAL = "an unexpected error occurred; it has been logged"
_OVERLOADED = frozenset({"overloaded", "rate_limited"})


ERROR_STATUSES = {
    400: "Invalid parameter, blocked by a guardrail, or refused by the provider (invalid_request_error)",
    401: "No API key, or an invalid, expired or revoked one (authentication_error)",
    403: "The API key lacks the scope this route needs (permission_error)",
    404: "Unknown model (not_found_error)",
    413: "The request body is over SWITCHBOARD_MAX_BODY_BYTES (request_too_large)",
    415: "The request body is not JSON (invalid_request_error)",
    429: "A limit of this API key was reached; retry after retry-after seconds (rate_limit_error)",
    500: "An unexpected error (api_error); it has been logged",
    502: "Every deployment failed and retrying will not help (api_error)",
    503: "Every deployment failed, a store is down, or the instance is draining (api_error)",
    529: "The providers are overloaded or rate limited (overloaded_error)",
}
"""Every status these routes answer, for the OpenAPI document."""


def envelope(exc: DomainError) -> tuple[int, ErrorOut, dict[str, str]]:
    """Status, error object and headers for a domain error."""
    headers: dict[str, str] = {}
    if isinstance(exc, ProviderRejected | InvalidRequest | GuardrailBlocked):
        return 400, ErrorOut(type="invalid_request_error", message=exc.detail), headers
    if isinstance(exc, ProviderUnavailable):
        if exc.retry_after is not None:
            headers["retry-after"] = str(max(1, math.ceil(exc.retry_after)))
        if exc.failure == "unsupported" and exc.upstream_status == 404:
            return 404, ErrorOut(type="not_found_error", message=exc.detail), headers
        if exc.failure in _OVERLOADED:
            return 529, ErrorOut(type="overloaded_error", message=exc.detail), headers
        return (503 if exc.retryable else 502), ErrorOut(type="api_error", message=exc.detail), headers
    if isinstance(exc, RateLimited):
        headers["retry-after"] = str(max(1, math.ceil(exc.retry_after)))
        if not isinstance(exc, BudgetExceeded):
            headers.update(rate_limit_headers(exc.limit, 0, exc.retry_after))
        return 429, ErrorOut(type="rate_limit_error", message=exc.detail), headers
    if isinstance(exc, NotFound):
        return 404, ErrorOut(type="not_found_error", message=exc.detail), headers
    if isinstance(exc, Forbidden):
        return 403, ErrorOut(type="permission_error", message=exc.detail), headers
    if isinstance(exc, StoreUnavailable | ShuttingDown):
        headers["retry-after"] = "1"
        return 503, ErrorOut(type="api_error", message=exc.detail), headers
    return 500, ErrorOut(type="api_error", message=_INTERNAL), headers


def _response(status: int, error: ErrorOut, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        _encode(ErrorBodyOut(error=error)), status_code=status, media_type="application/json", headers=headers
    )


def on_domain_error(_request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    status, error, headers = envelope(exc)
    return _response(status, error, headers)


_HTTP_KINDS = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
}


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """A body Litestar could not decode into the surface's struct: a 400 naming the parameter."""
    return on_domain_error(request, invalid_body(exc))


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    kind = _HTTP_KINDS.get(status, "invalid_request_error")
    message = exc.detail or "request error"
    if status >= 500:
        log.error("http.internal", status=status, path=request.url.path)
        kind, message = "api_error", _INTERNAL
    return _response(status, ErrorOut(type=kind, message=message), dict(exc.headers or {}))


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("http.unhandled", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    return _response(500, ErrorOut(type="api_error", message=_INTERNAL))


def stream_error(exc: DomainError) -> bytes:
    """The terminal ``error`` event of a failed stream (the ``anthropic`` client raises it)."""
    _status, error, _headers = envelope(exc)
    return b"event: error\ndata: " + _encode(ErrorBodyOut(error=error)) + b"\n\n"


ANTHROPIC_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
