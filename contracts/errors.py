"""Domain errors. Services raise these; the HTTP edge maps each ``code`` to a status and a problem type.

Messages never contain secrets or prompt text.
"""

from __future__ import annotations

from typing import Any

from contracts.base import Struct
from contracts.guardrails import GuardrailDecision


class ErrorInfo(Struct, frozen=True, kw_only=True):
    """An error as carried in a stream's terminal ``error`` event (and mirrored in problem+json)."""

    code: str
    detail: str
    retryable: bool = False
    status: int | None = None
    field: str | None = None
    retry_after_s: float | None = None
    """When the provider said how long to wait (its ``Retry-After``)."""
    failure: str | None = None
    """For provider errors: the class of failure (``contracts.models.FailureKind``)."""


class DomainError(Exception):
    """Base of every error the domain raises on purpose. ``code`` is stable and documented."""

    code = "internal"
    retryable = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, detail=self.detail, retryable=self.retryable)


class NotFound(DomainError):
    """The resource does not exist, or belongs to another tenant (indistinguishable on purpose)."""

    code = "not_found"

    def __init__(self, resource: str, identifier: str) -> None:
        super().__init__(f"{resource} {identifier!r} was not found")
        self.resource = resource
        self.identifier = identifier


class Forbidden(DomainError):
    """The caller is known but lacks a scope."""

    code = "forbidden"


class InvalidRequest(DomainError):
    """The request is well-formed JSON but asks for something impossible."""

    code = "invalid_request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, detail=self.detail, field=self.field)


class GuardrailBlocked(DomainError):
    """A guardrail rule blocked the turn. Nothing was sent to a provider when ``stage`` is input."""

    code = "guardrail_blocked"

    def __init__(self, decision: GuardrailDecision) -> None:
        super().__init__(
            f"blocked by guardrail policy {decision.policy!r} ({decision.rule}): {decision.reason}"
        )
        self.decision = decision


class ProviderUnavailable(DomainError):
    """A provider failed or could not be reached. ``retryable`` tells a client whether to try again;
    ``failure`` classifies it (``contracts.models.FailureKind``) for routers and metrics; ``attempts``
    lists every failed model call when a router tried several (``contracts.models.Attempt``)."""

    code = "provider_unavailable"

    def __init__(
        self,
        provider: str,
        detail: str,
        *,
        retryable: bool,
        upstream_status: int | None = None,
        retry_after: float | None = None,
        failure: str = "server_error",
        attempts: tuple[Any, ...] = (),
    ) -> None:
        super().__init__(f"provider {provider!r}: {detail}")
        self.provider = provider
        self.reason = detail
        self.retryable = retryable
        self.upstream_status = upstream_status
        self.retry_after = retry_after
        self.failure = failure
        self.attempts = attempts

    def info(self) -> ErrorInfo:
        return ErrorInfo(
            code=self.code,
            detail=self.detail,
            retryable=self.retryable,
            status=self.upstream_status,
            retry_after_s=self.retry_after,
            failure=self.failure,
        )


class ProviderRejected(ProviderUnavailable):
    """The provider refused the request itself (bad request, context too long, content filtered): the
    caller must change it; retrying or sending it elsewhere will not help."""

    code = "provider_rejected"


class RateLimited(DomainError):
    """A limit was reached; ``retry_after`` seconds until it resets."""

    code = "rate_limited"
    retryable = True

    def __init__(self, detail: str, *, retry_after: float, limit: int = 0, remaining: int = 0) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.limit = limit
        self.remaining = remaining


class BudgetExceeded(RateLimited):
    """A spending cap in US dollars was reached (``budget``: ``key_daily``, ``key_monthly``,
    ``tenant_daily``, ``tenant_monthly``); it resets at ``resets_at`` (unix seconds)."""

    code = "budget_exceeded"

    def __init__(
        self,
        detail: str,
        *,
        budget: str,
        limit_usd: float,
        spent_usd: float,
        resets_at: float,
        retry_after: float,
    ) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.budget = budget
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.resets_at = resets_at


class StoreUnavailable(DomainError):
    """A store (database, Redis) is down or its pool is exhausted. Retry later."""

    code = "store_unavailable"
    retryable = True


class ShuttingDown(DomainError):
    """This instance is draining before it exits: retry the request, which reaches another instance."""

    code = "shutting_down"
    retryable = True
    retry_after = 1.0

    def __init__(self, detail: str = "the server is shutting down; retry on another instance") -> None:
        super().__init__(detail)

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, detail=self.detail, retryable=True, retry_after_s=self.retry_after)


class ConfigRejected(DomainError):
    """A live reload was refused: the new configuration is invalid or changes what needs a restart.
    The running configuration keeps serving; ``detail`` is the same line ``switchboard check`` prints."""

    code = "config_rejected"
