"""In-process ``UsageRecorder`` (lost on restart)."""

from __future__ import annotations

from datetime import datetime

from contracts.accounting import UsageRecord


class MemoryUsageRecorder:
    """Usage records in a list, in the order recorded."""

    def __init__(self) -> None:
        self._records: list[UsageRecord] = []

    async def record(self, record: UsageRecord) -> None:
        self._records.append(record)

    async def since(self, tenant_id: str, start: datetime) -> list[UsageRecord]:
        found = [r for r in self._records if r.tenant_id == tenant_id and r.created_at >= start]
        return sorted(found, key=lambda r: r.created_at)
