"""OpenAI's error envelope on the OpenAI-compatible routes: ``{"error": {message, type, param, code}}``
with the statuses the ``openai`` client maps to its exceptions (400 ``BadRequestError``, 401, 403, 404,
413, 422, 429 ``RateLimitError`` whose ``Retry-After`` the client honours, 5xx ``InternalServerError``).
Messages are our own; never an upstream's text, a key or a prompt.
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
_REJECTION_CODES = {"context_too_long": "context_length_exceeded", "content_filtered": "content_filter"}


class OpenAIError(msgspec.Struct, kw_only=True):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(msgspec.Struct):
    error: OpenAIError


def envelope(exc: DomainError) -> tuple[int, OpenAIError, dict[str, str]]:
    """Status, error object and headers for a domain error."""
    headers: dict[str, str] = {}
    if isinstance(exc, ProviderRejected):
        code = _REJECTION_CODES.get(exc.failure, "invalid_request")
        return 400, OpenAIError(message=exc.detail, type="invalid_request_error", code=code), headers
    if isinstance(exc, ProviderUnavailable):
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        if exc.failure == "unsupported" and exc.upstream_status == 404:
            return (
                404,
                OpenAIError(message=exc.detail, type="invalid_request_error", code="model_not_found"),
                headers,
            )
        status = 503 if exc.retryable else 502
        return status, OpenAIError(message=exc.detail, type="api_error", code=exc.failure), headers
    if isinstance(exc, BudgetExceeded):  # OpenAI's own answer when an account's quota is spent
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        error = OpenAIError(message=exc.detail, type="insufficient_quota", code="insufficient_quota")
        return 429, error, headers
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        headers.update(rate_limit_headers(exc.limit, 0, exc.retry_after))
        return (
            429,
            OpenAIError(message=exc.detail, type="rate_limit_error", code="rate_limit_exceeded"),
            headers,
        )
    if isinstance(exc, GuardrailBlocked):
        error = OpenAIError(message=exc.detail, type="invalid_request_error", code="content_filter")
        return 400, error, headers
    if isinstance(exc, InvalidRequest):
        error = OpenAIError(
            message=exc.detail, type="invalid_request_error", param=exc.field, code="invalid_value"
        )
        return 400, error, headers
    if isinstance(exc, NotFound):
        code = "model_not_found" if exc.resource == "model" else "not_found"
        return 404, OpenAIError(message=exc.detail, type="invalid_request_error", code=code), headers
    if isinstance(exc, Forbidden):
        return (
            403,
            OpenAIError(message=exc.detail, type="permission_error", code="insufficient_scope"),
            headers,
        )
    if isinstance(exc, StoreUnavailable | ShuttingDown):
        headers["Retry-After"] = "1"
        return 503, OpenAIError(message=exc.detail, type="api_error", code=exc.code), headers
    return (
        500,
        OpenAIError(message="an unexpected error occurred; it has been logged", type="api_error"),
        headers,
    )


def _response(status: int, error: OpenAIError, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        _encode(OpenAIErrorBody(error=error)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def on_domain_error(_request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    status, error, headers = envelope(exc)
    return _response(status, error, headers)


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """A body Litestar could not decode into the surface's struct: a 400 naming the parameter."""
    return on_domain_error(request, invalid_body(exc))


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    kinds = {
        401: ("authentication_error", "invalid_api_key"),
        403: ("permission_error", "forbidden"),
        404: ("invalid_request_error", "not_found"),
        405: ("invalid_request_error", "method_not_allowed"),
        413: ("invalid_request_error", "request_too_large"),
    }
    kind, code = kinds.get(status, ("invalid_request_error", "invalid_request"))
    code_or_none: str | None = code
    message = exc.detail or "request error"
    if status >= 500:
        log.error("http.internal", status=status, path=request.url.path)
        kind, code_or_none, message = "api_error", None, "an unexpected error occurred; it has been logged"
    headers = {"WWW-Authenticate": 'Bearer realm="switchboard"'} if status == 401 else {}
    return _response(
        status, OpenAIError(message=message, type=kind, code=code_or_none), {**headers, **(exc.headers or {})}
    )


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("http.unhandled", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    return _response(
        500, OpenAIError(message="an unexpected error occurred; it has been logged", type="api_error")
    )


def stream_error(exc: DomainError) -> bytes:
    """The terminal frame of a failed stream (the ``openai`` client raises ``APIError`` on it)."""
    _status, error, _headers = envelope(exc)
    return b"data: " + _encode(OpenAIErrorBody(error=error)) + b"\n\n"


def bad_body(message: str, param: str | None = None) -> InvalidRequest:
    return InvalidRequest(message, field=param)


OPENAI_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
