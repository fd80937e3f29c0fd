"""What an API key looks like to its operator: everything but the secret."""

from __future__ import annotations

from datetime import datetime

import msgspec

from contracts.auth import Principal


class ApiKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored API key. ``prefix`` is the start of the secret, for recognising a key in a list.
    Limits of ``None`` mean "the service-wide default"."""

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
