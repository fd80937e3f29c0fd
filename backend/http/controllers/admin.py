"""``/v1/admin``: stored API keys (create, list, revoke, rotate), usage and provider health for admins.

A key with ``admin`` manages its own tenant; ``operator`` (configured keys only) reaches every tenant
through ``?tenant=`` or ``tenant_id``. Rules and the audit trail live in ``backend/services/administration``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from backend.http.auth import GUARDS, provide_principal
from backend.http.controllers.catalog import ProviderList
from backend.http.openapi import problems
from backend.http.svcs_plugin import Injected, port
from backend.services.administration import KeyAdministration, NewKey, audit, expiry, tenant_in_reach
from backend.services.usage_summary import UsageSummary, summarise
from contracts.auth import ApiKeyRecord, Principal
from contracts.base import Inbound, Struct
from contracts.errors import Forbidden
from contracts.ports import ApiKeyAdmin, ProviderDirectory, UsageRecorder

TenantQuery = Annotated[
    str | None,
    QueryParameter(
        max_length=64, description="another tenant (operator keys only); default: the caller's tenant"
    ),
]
KeyId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Days = Annotated[int, QueryParameter(ge=1, le=90, description="how many days back (UTC), today included")]
Limit = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]


class CreateKey(Inbound, frozen=True, kw_only=True):
    """A new stored key. ``operator`` cannot be granted (configured keys only)."""

    scopes: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=32)]], msgspec.Meta(min_length=1, max_length=4)
    ]
    tenant_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """Another tenant (operator keys only); default: the caller's tenant."""
    expires_at: datetime | None = None
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    requests_per_minute: Limit | None = None
    tokens_per_minute: Limit | None = None
    concurrent_streams: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None


class KeyView(Struct, frozen=True, kw_only=True):
    """A stored key without its secret; ``status`` is ``active``, ``revoked`` or ``expired``."""

    id: str
    tenant_id: str
    prefix: str
    scopes: list[str]
    status: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    concurrent_streams: int | None = None


class CreatedKey(Struct, frozen=True, kw_only=True):
    """``secret`` is shown this once: it is stored only as a hash."""

    secret: str
    key: KeyView


class KeyList(Struct, frozen=True, kw_only=True):
    data: list[KeyView]


def view(record: ApiKeyRecord, now: datetime | None = None) -> KeyView:
    now = now or datetime.now(UTC)
    status = "revoked" if record.revoked_at else ("active" if record.active(now) else "expired")
    return KeyView(
        id=record.id,
        tenant_id=record.tenant_id,
        prefix=record.prefix,
        scopes=sorted(record.scopes),
        status=status,
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        requests_per_minute=record.requests_per_minute,
        tokens_per_minute=record.tokens_per_minute,
        concurrent_streams=record.concurrent_streams,
    )


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    guards = GUARDS
    dependencies = {"principal": provide_principal}

    @get(
        "/keys",
        summary="Stored API keys of a tenant (operator: every tenant unless ?tenant=)",
        responses=problems(403),
        dependencies={"keys": port(ApiKeyAdmin)},
    )
    async def list_keys(
        self, principal: NamedDependency[Principal], keys: Injected[ApiKeyAdmin], tenant: TenantQuery = None
    ) -> KeyList:
        now = datetime.now(UTC)
        return KeyList(data=[view(r, now) for r in await KeyAdministration(keys).list(principal, tenant)])

    @post(
        "/keys",
        summary="Create a key; its secret is in this answer only",
        status_code=201,
        responses=problems(403, 422),
        dependencies={"keys": port(ApiKeyAdmin)},
    )
    async def create_key(
        self, data: JSONBody[CreateKey], principal: NamedDependency[Principal], keys: Injected[ApiKeyAdmin]
    ) -> CreatedKey:
        spec = NewKey(
            scopes=frozenset(data.scopes),
            tenant_id=data.tenant_id,
            expires_at=expiry(datetime.now(UTC), data.expires_at, data.expires_in_days),
            requests_per_minute=data.requests_per_minute,
            tokens_per_minute=data.tokens_per_minute,
            concurrent_streams=data.concurrent_streams,
        )
        secret, record = await KeyAdministration(keys).create(principal, spec)
        return CreatedKey(secret=secret, key=view(record))

    @delete(
        "/keys/{key_id:str}",
        summary="Revoke a key (another tenant's key is 404)",
        status_code=200,
        responses=problems(403, 404),
        dependencies={"keys": port(ApiKeyAdmin)},
    )
    async def revoke_key(
        self, key_id: KeyId, principal: NamedDependency[Principal], keys: Injected[ApiKeyAdmin]
    ) -> KeyView:
        return view(await KeyAdministration(keys).revoke(principal, key_id))

    @post(
        "/keys/{key_id:str}/rotate",
        summary="Replace a key: a new secret with the same tenant, scopes and limits; the old key is revoked",
        status_code=201,
        responses=problems(403, 404, 422),
        dependencies={"keys": port(ApiKeyAdmin)},
    )
    async def rotate_key(
        self, key_id: KeyId, principal: NamedDependency[Principal], keys: Injected[ApiKeyAdmin]
    ) -> CreatedKey:
        secret, record = await KeyAdministration(keys).rotate(principal, key_id)
        return CreatedKey(secret=secret, key=view(record))

    @get(
        "/usage",
        summary="A tenant's usage by day, provider and model (operator: any tenant)",
        responses=problems(403),
        dependencies={"usage": port(UsageRecorder)},
    )
    async def usage(
        self,
        principal: NamedDependency[Principal],
        usage: Injected[UsageRecorder],
        tenant: TenantQuery = None,
        days: Days = 7,
    ) -> UsageSummary:
        try:
            chosen = tenant_in_reach(principal, tenant) or principal.tenant_id
        except Forbidden:
            audit(principal, "usage.read", outcome="forbidden", tenant=tenant)
            raise
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=days - 1
        )
        records = await usage.since(chosen, start)
        audit(principal, "usage.read", tenant=chosen, days=days)
        return UsageSummary(tenant_id=chosen, since=start.date().isoformat(), data=summarise(records))

    @get(
        "/providers",
        summary="Provider instances, routes and their health (as GET /v1/providers)",
        responses=problems(403),
        dependencies={"providers": port(ProviderDirectory)},
    )
    async def providers(
        self, principal: NamedDependency[Principal], providers: Injected[ProviderDirectory]
    ) -> ProviderList:
        try:
            tenant_in_reach(principal, None)
        except Forbidden:
            audit(principal, "providers.read", outcome="forbidden")
            raise
        audit(principal, "providers.read")
        return ProviderList(
            default=providers.default, data=await providers.statuses(), routes=providers.routes()
        )
