"""Who is calling: API keys resolve to a principal."""

from __future__ import annotations

from datetime import datetime

from contracts.base import Struct

SCOPE_CHAT = "chat"
SCOPE_ADMIN = "admin"


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
        return scope in self.scopes or SCOPE_ADMIN in self.scopes
