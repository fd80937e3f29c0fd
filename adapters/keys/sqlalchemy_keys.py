"""``ApiKeyStore`` on SQLAlchemy: keys created and revoked at runtime, stored as SHA-256 hashes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, insert, select, update

from adapters.keys.hashing import digests_equal, hash_secret, new_secret
from adapters.persistence.models import ApiKeyRow
from adapters.persistence.sql_runner import SqlRunner, all_rows, execute, one_row, rowcount
from contracts.auth import ApiKeyRecord, Principal

_table = cast(Table, ApiKeyRow.__table__)
PREFIX_CHARS = 10


def _record(row: Row[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        prefix=row.prefix,
        scopes=frozenset(row.scopes.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        requests_per_minute=row.requests_per_minute,
        tokens_per_minute=row.tokens_per_minute,
        concurrent_streams=row.concurrent_streams,
    )


class SqlAlchemyApiKeyStore:
    """API keys in the ``api_keys`` table. The secret is returned once, by ``create``, and never stored."""

    def __init__(
        self,
        db: SqlRunner,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self,
        tenant_id: str,
        scopes: Iterable[str],
        *,
        expires_at: datetime | None = None,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        concurrent_streams: int | None = None,
    ) -> tuple[str, ApiKeyRecord]:
        """A new key: its secret (show it once) and its record."""
        secret = new_secret()
        record = ApiKeyRecord(
            id="key_" + secrets.token_hex(8),
            tenant_id=tenant_id,
            prefix=secret[:PREFIX_CHARS],
            scopes=frozenset(scopes),
            created_at=self._clock(),
            expires_at=expires_at,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            concurrent_streams=concurrent_streams,
        )
        values = {
            "id": record.id,
            "tenant_id": tenant_id,
            "secret_sha256": hash_secret(secret),
            "prefix": record.prefix,
            "scopes": " ".join(sorted(record.scopes)),
            "created_at": record.created_at,
            "expires_at": expires_at,
            "revoked_at": None,
            "requests_per_minute": requests_per_minute,
            "tokens_per_minute": tokens_per_minute,
            "concurrent_streams": concurrent_streams,
        }
        await self._db.transaction(execute, insert(_table).values(values))
        return secret, record

    async def list(self, tenant_id: str | None = None) -> list[ApiKeyRecord]:
        """Keys (of one tenant, or all), oldest first, revoked ones included."""
        query = select(*_table.c).order_by(_table.c.created_at, _table.c.id)
        if tenant_id is not None:
            query = query.where(_table.c.tenant_id == tenant_id)
        return [_record(row) for row in await self._db.read(all_rows, query)]

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        """A key's record by id (revoked and expired ones included), or None."""
        row = await self._db.read(one_row, select(*_table.c).where(_table.c.id == key_id))
        return _record(row) if row is not None else None

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key; False if it does not exist or was revoked already."""
        statement = (
            update(_table)
            .where(_table.c.id == key_id, _table.c.revoked_at.is_(None))
            .values(revoked_at=self._clock())
        )
        return bool(await self._db.transaction(rowcount, statement))

    async def get_record(self, secret: str) -> ApiKeyRecord | None:
        """The record of an active key (with its limits), or None."""
        digest = hash_secret(secret)
        row = await self._db.read(one_row, select(*_table.c).where(_table.c.secret_sha256 == digest))
        if row is None or not digests_equal(row.secret_sha256, digest):
            return None
        record = _record(row)
        return record if record.active(self._clock()) else None

    async def authenticate(self, secret: str) -> Principal | None:
        record = await self.get_record(secret)
        return record.principal() if record else None
