"""``UsageRecorder`` on SQLAlchemy: one row per turn in ``usage_records``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, insert, select

from adapters.persistence.models import UsageRow
from adapters.persistence.sql_runner import SqlRunner, all_rows, execute
from contracts.accounting import UsageRecord
from contracts.usage import Usage

_table = cast(Table, UsageRow.__table__)
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cache_write_tokens",
)


def _record(row: Row[Any]) -> UsageRecord:
    return UsageRecord(
        tenant_id=row.tenant_id,
        key_id=row.key_id,
        conversation_id=row.conversation_id,
        provider=row.provider,
        model=row.model,
        agent=row.agent,
        status=row.status,
        latency_ms=row.latency_ms,
        created_at=row.created_at,
        usage=Usage(**{name: getattr(row, name) for name in _USAGE_FIELDS}),
        cost_usd=row.cost_usd,
    )


class SqlAlchemyUsageRecorder:
    """Records usage in the database; ``since`` is served by the (tenant_id, created_at) index."""

    def __init__(self, db: SqlRunner) -> None:
        self._db = db

    async def record(self, record: UsageRecord) -> None:
        await self.record_many([record])

    async def record_many(self, records: Sequence[UsageRecord]) -> None:
        """Insert several records in one transaction (the buffered recorder flushes batches)."""
        if not records:
            return
        values = [
            {
                "id": uuid.uuid4().hex,
                "tenant_id": r.tenant_id,
                "key_id": r.key_id,
                "conversation_id": r.conversation_id,
                "provider": r.provider,
                "model": r.model.replace("\x00", ""),  # from a provider or a request: no NUL in text columns
                "agent": r.agent,
                "status": r.status,
                "latency_ms": r.latency_ms,
                "created_at": r.created_at,
                "cost_usd": r.cost_usd,
                **{name: getattr(r.usage, name) for name in _USAGE_FIELDS},
            }
            for r in records
        ]
        await self._db.transaction(execute, insert(_table), values)

    async def since(self, tenant_id: str, start: datetime) -> list[UsageRecord]:
        query = (
            select(*_table.c)
            .where(_table.c.tenant_id == tenant_id, _table.c.created_at >= start)
            .order_by(_table.c.created_at, _table.c.id)
        )
        return [_record(row) for row in await self._db.read(all_rows, query)]
