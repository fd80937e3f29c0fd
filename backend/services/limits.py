"""Per-key limits: requests per minute, tokens per minute, concurrent streams.

Counts live behind the ``RateLimiter`` port (Redis when configured, so every instance shares one budget).
When the limiter's store is down, ``on_backend_failure`` decides: ``open`` lets the request through (and
logs), ``closed`` refuses it with ``StoreUnavailable`` (503). Never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import structlog

from backend.settings import LimitSettings
from contracts.auth import Principal
from contracts.errors import RateLimited, StoreUnavailable
from contracts.ports import RateDecision, RateLimiter
from contracts.telemetry import CallSink

log = structlog.get_logger("switchboard.limits")
T = TypeVar("T")
WINDOW_S = 60.0
LEASE_S = 600.0
"""A stream's slot expires after this long even if its instance died without releasing it."""


class Limits:
    def __init__(self, limiter: RateLimiter, settings: LimitSettings, sink: CallSink | None = None) -> None:
        self._limiter = limiter
        self._settings = settings
        self._sink = sink

    def _limit(self, per_key: int | None, default: int) -> int:
        return per_key if per_key is not None else default

    async def _guard(self, call: Awaitable[T], fallback: T) -> T:
        try:
            return await call
        except StoreUnavailable:
            if self._settings.on_backend_failure == "closed":
                raise
            log.warning("limits.backend_unavailable", policy="fail-open")
            return fallback

    async def admit_request(self, principal: Principal) -> RateDecision | None:
        """Count one request against the key's requests-per-minute budget (raises ``RateLimited``)."""
        limit = self._limit(principal.requests_per_minute, self._settings.requests_per_minute)
        if limit <= 0:
            return None
        decision = await self._guard(
            self._limiter.hit(f"rpm:{principal.key_id}", limit=limit, window_s=WINDOW_S), None
        )
        self._raise_if_refused(decision, "requests_per_minute")
        return decision

    async def admit_tokens(self, principal: Principal) -> None:
        """Refuse a turn when the key already spent its tokens-per-minute budget."""
        limit = self._limit(principal.tokens_per_minute, self._settings.tokens_per_minute)
        if limit <= 0:
            return
        decision = await self._guard(
            self._limiter.hit(f"tpm:{principal.key_id}", limit=limit, window_s=WINDOW_S, cost=0), None
        )
        self._raise_if_refused(decision, "tokens_per_minute")

    async def charge_tokens(self, principal: Principal, tokens: int) -> None:
        limit = self._limit(principal.tokens_per_minute, self._settings.tokens_per_minute)
        if limit > 0 and tokens > 0:
            await self._guard(
                self._limiter.charge(f"tpm:{principal.key_id}", window_s=WINDOW_S, cost=tokens), None
            )

    async def open_stream(self, principal: Principal) -> str | None:
        """Take a concurrent-stream slot; returns the lease to release (None: unlimited or fail-open)."""
        limit = self._limit(principal.concurrent_streams, self._settings.concurrent_streams)
        if limit <= 0:
            return None
        decision, lease = await self._guard(
            self._limiter.acquire(f"streams:{principal.key_id}", limit=limit, lease_s=LEASE_S), (None, None)
        )
        self._raise_if_refused(decision, "concurrent_streams")
        return lease

    async def close_stream(self, principal: Principal, lease: str | None) -> None:
        if lease is not None:
            await self._guard(self._limiter.release(f"streams:{principal.key_id}", lease), None)

    def _raise_if_refused(self, decision: RateDecision | None, limit: str) -> None:
        if decision is not None and not decision.allowed:
            if self._sink is not None:
                self._sink.refused(limit)
            raise RateLimited(
                f"limit of {decision.limit} {limit.replace('_', ' ')} reached for this API key",
                retry_after=decision.reset_s,
                limit=decision.limit,
                remaining=0,
            )
