"""One error shape for every error: RFC 9457 problem+json, from one mapping table.

Domain errors are raised inside; this is the only place that turns them into HTTP statuses. The ``type``
of each problem is a stable URN (``urn:switchboard:problem:<code>``) documented in docs/errors.md.
Bodies never carry tracebacks, secrets or prompt text.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from backend.http.body_request import EMPTY_BODY
from backend.http.ratelimit_headers import rate_limit_headers
from contracts.errors import (
    BudgetExceeded,
    ConfigRejected,
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
from contracts.models import Attempt

log = structlog.get_logger("switchboard.http")

PROBLEM_JSON = "application/problem+json"
DEFAULT_RETRY_AFTER = "1"
"""Seconds, on a 503 whose cause gave no better estimate (a store down, a provider without Retry-After)."""

STATUS: dict[type[DomainError], tuple[int, str]] = {
    NotFound: (404, "Not found"),
    Forbidden: (403, "Forbidden"),
    InvalidRequest: (422, "Invalid request"),
    GuardrailBlocked: (422, "Blocked by a guardrail"),
    BudgetExceeded: (429, "Budget exhausted"),
    ConfigRejected: (422, "Configuration refused"),
    RateLimited: (429, "Rate limit reached"),
    StoreUnavailable: (503, "Store unavailable"),
    ShuttingDown: (503, "Shutting down"),
}
"""Domain error -> (status, title). ``ProviderUnavailable`` is 503 when retryable, else 502."""

_HTTP_CODES = {
    400: "invalid_body",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 body. ``field``/``errors`` point at the offending input; ``retryable`` tells clients."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[dict[str, str]] | None = None
    retryable: bool | None = None
    decision: Any = None
    failure: str | None = None
    attempts: list[Attempt] | None = None
    request_id: str | None = None
    budget: Budget | None = None


class Budget(msgspec.Struct, kw_only=True):
    """Which spending cap refused the call (``budget_exceeded``)."""

    name: str
    limit_usd: float
    spent_usd: float
    resets_at: str
    """ISO 8601, UTC: when the period ends and the budget is available again."""


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[Problem]:
    return Response(problem, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _problem(code: str, status: int, title: str, detail: str, **extra: Any) -> Problem:
    return Problem(
        type=f"urn:switchboard:problem:{code}", title=title, status=status, detail=detail, code=code, **extra
    )


def _attempts(exc: ProviderUnavailable) -> list[Attempt] | None:
    return [a for a in exc.attempts if isinstance(a, Attempt)] or None


def from_domain(exc: DomainError) -> tuple[Problem, dict[str, str]]:
    headers: dict[str, str] = {}
    if isinstance(exc, ProviderRejected):
        title = "Refused by the provider"
        return _problem(
            exc.code, 422, title, exc.detail, retryable=False, failure=exc.failure, attempts=_attempts(exc)
        ), headers
    if isinstance(exc, ProviderUnavailable):
        status = 503 if exc.retryable else 502
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        elif exc.retryable:
            headers["Retry-After"] = DEFAULT_RETRY_AFTER
        problem = _problem(
            exc.code,
            status,
            "Provider unavailable",
            exc.detail,
            retryable=exc.retryable,
            failure=exc.failure,
            attempts=_attempts(exc),
        )
        return problem, headers
    status, title = next((v for k, v in STATUS.items() if isinstance(exc, k)), (500, "Internal error"))
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidRequest) and exc.field:
        extra["field"] = exc.field
    if isinstance(exc, GuardrailBlocked):
        extra["decision"] = exc.decision
    if isinstance(exc, BudgetExceeded):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        extra["retryable"] = True
        resets = datetime.fromtimestamp(exc.resets_at, UTC).isoformat().replace("+00:00", "Z")
        extra["budget"] = Budget(
            name=exc.budget, limit_usd=exc.limit_usd, spent_usd=round(exc.spent_usd, 9), resets_at=resets
        )
    elif isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        headers.update(rate_limit_headers(exc.limit, 0, exc.retry_after))
        extra["retryable"] = True
    if isinstance(exc, StoreUnavailable):
        extra["retryable"] = True
        headers["Retry-After"] = DEFAULT_RETRY_AFTER
    if isinstance(exc, ShuttingDown):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        extra["retryable"] = True
    return _problem(exc.code, status, title, exc.detail, **extra), headers


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    rid = request.scope.get("state", {}).get("request_id")  # type: ignore[attr-defined]
    return rid if isinstance(rid, str) else None


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    problem, headers = from_domain(exc)
    problem.request_id = _request_id(request)
    return problem_response(problem, headers)


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append({"field": str(item.get("key") or "body"), "reason": str(item.get("message", ""))})
    first = errors[0] if errors else None
    if (
        first is not None
        and first["field"] == "data"
        and first["reason"] in ("'data'", "Missing required field")
    ):
        errors = [{"field": "body", "reason": EMPTY_BODY}]  # no body at all: say so, not "data: 'data'"
        first = errors[0]
    detail = f"{first['field']}: {first['reason']}" if first else (exc.detail or "invalid request body")
    if first and first["field"] == "body":
        detail = first["reason"] or detail
    problem = _problem(
        "invalid_body",
        400,
        "Invalid request body",
        detail,
        field=first["field"] if first else None,
        errors=errors or None,
        request_id=_request_id(request),
    )
    return problem_response(problem)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    code = _HTTP_CODES.get(status, "http_error")
    title = {401: "Unauthorized", 404: "Not found", 413: "Body too large"}.get(status, "Request error")
    detail = exc.detail or title
    if status >= 500:
        code, title, detail = "internal", "Internal error", "an unexpected error occurred; it has been logged"
        log.error("http.internal", status=status, path=request.url.path)
    problem = _problem(code, status, title, detail, request_id=_request_id(request))
    headers = {"WWW-Authenticate": 'Bearer realm="switchboard"'} if status == 401 else None
    return problem_response(problem, {**(headers or {}), **(exc.headers or {})})


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.error("http.unhandled", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    problem = _problem(
        "internal",
        500,
        "Internal error",
        "an unexpected error occurred; it has been logged",
        request_id=_request_id(request),
    )
    return problem_response(problem)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
