"""The admin API's rules: who may manage which tenant's keys and read whose usage, and the audit trail.

A key with the ``admin`` scope manages its own tenant only; a key with ``operator`` (configured keys only)
manages every tenant. Another tenant's key is answered as *not found*, never as *forbidden*, so a tenant
admin cannot learn which key ids exist elsewhere. Every action, allowed or refused, is one
``admin.audit`` event (who, what, which tenant and key, outcome; the timestamp comes from the logger).
Secrets never reach the log: only key ids and prefixes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from contracts.auth import (
    SCOPE_ADMIN,
    SCOPE_OPERATOR,
    ApiKeyRecord,
    Principal,
    scopes_problem,
    tenant_problem,
)
from contracts.base import Struct
from contracts.errors import DomainError, Forbidden, InvalidRequest, NotFound
from contracts.ports import ApiKeyAdmin

audit_log = structlog.get_logger("switchboard.audit")


class NewKey(Struct, frozen=True, kw_only=True):
    """What a new key holds. ``tenant_id`` ``None`` means the caller's tenant."""

    scopes: frozenset[str]
    tenant_id: str | None = None
    expires_at: datetime | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    concurrent_streams: int | None = None


def audit(principal: Principal, action: str, *, outcome: str = "ok", **fields: Any) -> None:
    """One audit event: the acting key and tenant, the action, its outcome and its target."""
    audit_log.info(
        "admin.audit",
        actor_key_id=principal.key_id,
        actor_tenant=principal.tenant_id,
        operator=principal.has(SCOPE_OPERATOR),
        action=action,
        outcome=outcome,
        **fields,
    )


def tenant_in_reach(principal: Principal, tenant: str | None) -> str | None:
    """The tenant an admin action applies to: the caller's own when none is named; any tenant for an
    operator (``None`` stays "every tenant"); raises ``Forbidden`` when a tenant admin names another."""
    if not principal.has(SCOPE_ADMIN):
        raise Forbidden(f"this API key lacks the {SCOPE_ADMIN!r} scope")
    if principal.has(SCOPE_OPERATOR):
        return tenant
    if tenant is not None and tenant != principal.tenant_id:
        raise Forbidden(
            "a tenant admin key manages its own tenant only (the operator scope sees every tenant)"
        )
    return principal.tenant_id


class KeyAdministration:
    """Create, list, revoke and rotate stored keys on behalf of an admin or operator principal."""

    def __init__(
        self, keys: ApiKeyAdmin, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._keys = keys
        self._clock = clock

    async def create(self, principal: Principal, spec: NewKey) -> tuple[str, ApiKeyRecord]:
        try:
            tenant = tenant_in_reach(principal, spec.tenant_id) or principal.tenant_id
            problem = tenant_problem(tenant) or scopes_problem(sorted(spec.scopes), stored=True)
            if problem:
                raise InvalidRequest(
                    problem, field="scopes" if tenant_problem(tenant) is None else "tenant_id"
                )
            if spec.expires_at is not None and spec.expires_at <= self._clock():
                raise InvalidRequest("expires_at is in the past", field="expires_at")
            secret, record = await self._keys.create(
                tenant,
                spec.scopes,
                expires_at=spec.expires_at,
                requests_per_minute=spec.requests_per_minute,
                tokens_per_minute=spec.tokens_per_minute,
                concurrent_streams=spec.concurrent_streams,
            )
        except DomainError as exc:
            audit(principal, "key.create", outcome=exc.code, tenant=spec.tenant_id or principal.tenant_id)
            raise
        audit(
            principal,
            "key.create",
            tenant=record.tenant_id,
            key_id=record.id,
            prefix=record.prefix,
            scopes=sorted(record.scopes),
            expires_at=record.expires_at.isoformat() if record.expires_at else None,
        )
        return secret, record

    async def list(self, principal: Principal, tenant: str | None) -> list[ApiKeyRecord]:
        try:
            scope = tenant_in_reach(principal, tenant)
        except DomainError as exc:
            audit(principal, "key.list", outcome=exc.code, tenant=tenant)
            raise
        records = await self._keys.list(scope)
        audit(principal, "key.list", tenant=scope or "*", count=len(records))
        return records

    async def _owned(self, principal: Principal, key_id: str, action: str) -> ApiKeyRecord:
        try:
            tenant_in_reach(principal, None)
            record = await self._keys.get(key_id)
            if record is None or not (
                principal.has(SCOPE_OPERATOR) or record.tenant_id == principal.tenant_id
            ):
                raise NotFound("key", key_id)
        except DomainError as exc:
            audit(principal, action, outcome=exc.code, key_id=key_id)
            raise
        return record

    async def revoke(self, principal: Principal, key_id: str) -> ApiKeyRecord:
        """Revoke a key of the caller's reach; revoking a revoked key is a no-op answered the same way."""
        record = await self._owned(principal, key_id, "key.revoke")
        if record.revoked_at is None:
            await self._keys.revoke(key_id)
        audit(principal, "key.revoke", tenant=record.tenant_id, key_id=key_id, prefix=record.prefix)
        return await self._keys.get(key_id) or record

    async def rotate(self, principal: Principal, key_id: str) -> tuple[str, ApiKeyRecord]:
        """A new key with the old one's tenant, scopes, limits and expiry; the old key is revoked at once."""
        old = await self._owned(principal, key_id, "key.rotate")
        if not old.active(self._clock()):
            audit(principal, "key.rotate", outcome="invalid_request", key_id=key_id)
            state = "revoked" if old.revoked_at is not None else "expired"
            raise InvalidRequest(f"key {key_id!r} is {state}; create a new one", field="key_id")
        secret, new = await self._keys.create(
            old.tenant_id,
            old.scopes,
            expires_at=old.expires_at,
            requests_per_minute=old.requests_per_minute,
            tokens_per_minute=old.tokens_per_minute,
            concurrent_streams=old.concurrent_streams,
        )
        await self._keys.revoke(key_id)
        audit(
            principal, "key.rotate", tenant=old.tenant_id, key_id=key_id, new_key_id=new.id, prefix=new.prefix
        )
        return secret, new


def expiry(now: datetime, expires_at: datetime | None, expires_in_days: int | None) -> datetime | None:
    """``expires_at`` as given, or ``expires_in_days`` from ``now``; both at once is an error."""
    if expires_at is not None and expires_in_days is not None:
        raise InvalidRequest("give expires_at or expires_in_days, not both", field="expires_in_days")
    if expires_in_days is not None:
        return now + timedelta(days=expires_in_days)
    if expires_at is not None and expires_at.tzinfo is None:
        return expires_at.replace(tzinfo=UTC)
    return expires_at
