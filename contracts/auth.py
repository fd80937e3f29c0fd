"""Who is calling: API keys resolve to a principal."""

from __future__ import annotations

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
