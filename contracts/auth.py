"""Who is calling: API keys resolve to a principal."""

from __future__ import annotations

import re
from datetime import datetime

from contracts.base import Struct

SCOPE_READ = "read"
"""Read conversations, usage and the catalog."""
SCOPE_CHAT = "chat"
"""Everything ``read`` allows, plus running turns and deleting conversations."""
SCOPE_ADMIN = "admin"
"""Everything, including writing the tenant's guardrail policies."""
SCOPE_OPERATOR = "operator"
"""Everything ``admin`` allows in the key's own tenant, plus operating the instance: every tenant's admin
API, live reconfiguration. Only configured keys (``SWITCHBOARD_API_KEYS``, the keys file) may hold it;
keys created through the API never can."""
IMPLIED_SCOPES: dict[str, frozenset[str]] = {
    SCOPE_READ: frozenset({SCOPE_READ}),
    SCOPE_CHAT: frozenset({SCOPE_READ, SCOPE_CHAT}),
    SCOPE_ADMIN: frozenset({SCOPE_READ, SCOPE_CHAT, SCOPE_ADMIN}),
    SCOPE_OPERATOR: frozenset({SCOPE_READ, SCOPE_CHAT, SCOPE_ADMIN, SCOPE_OPERATOR}),
}


class Principal(Struct, frozen=True, kw_only=True):
    """An authenticated caller: the key's id (never its secret), tenant and scopes."""

    key_id: str
    tenant_id: str
    scopes: frozenset[str]
    expires_at: datetime | None = None
    requests_per_minute: int | None = None
    """Per-key limits; ``None`` means the deployment's default (``SWITCHBOARD_RATE_LIMIT_*``)."""
    tokens_per_minute: int | None = None
    concurrent_streams: int | None = None

    def has(self, scope: str) -> bool:
        return any(scope in IMPLIED_SCOPES.get(held, frozenset({held})) for held in self.scopes)


KNOWN_SCOPES = frozenset(IMPLIED_SCOPES)
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def tenant_problem(tenant: str) -> str | None:
    """What is wrong with a tenant id, if anything."""
    if _TENANT.fullmatch(tenant):
        return None
    return f"tenant {tenant!r} must be 1-64 letters, digits, '_', '.' or '-'"


def scopes_problem(scopes: list[str], *, stored: bool = False) -> str | None:
    """What is wrong with ``scopes``, if anything. ``stored``: for a key kept in the database (created by
    the CLI or the API), which may never hold ``operator`` (only configured keys can)."""
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if not [s for s in scopes if s]:
        return "at least one scope is needed (read, chat, admin)"
    if unknown:
        return f"unknown scope(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_SCOPES))})"
    if stored and SCOPE_OPERATOR in scopes:
        return "the operator scope is for configured keys only (SWITCHBOARD_API_KEYS), not stored keys"
    return None


class ApiKeyRecord(Struct, frozen=True, kw_only=True):
    """A stored API key as its operator sees it: everything but the secret. ``prefix`` is the start of the
    secret, for recognising a key in a list. Limits of ``None`` mean "the service-wide default"."""

    id: str
    tenant_id: str
    prefix: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    concurrent_streams: int | None = None

    def active(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def principal(self) -> Principal:
        """The principal a request authenticated with this key acts as."""
        return Principal(
            key_id=self.id,
            tenant_id=self.tenant_id,
            scopes=self.scopes,
            expires_at=self.expires_at,
            requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute,
            concurrent_streams=self.concurrent_streams,
        )
