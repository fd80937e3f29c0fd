"""``GET /v1/usage``: a tenant's usage summarised by day, provider and model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from contracts.accounting import UsageRecord
from contracts.base import Struct


class UsageRow(Struct, frozen=True, kw_only=True):
    day: str
    provider: str
    model: str
    requests: int
    failed: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    """US dollars of the priced requests (docs/observability.md#cost)."""
    unpriced: int = 0
    """Requests with tokens whose model has no known price (not in ``cost_usd``)."""


class UsageSummary(Struct, frozen=True, kw_only=True):
    tenant_id: str
    since: str
    data: list[UsageRow]


def summarise(records: Iterable[UsageRecord]) -> list[UsageRow]:
    """Group by (UTC day, provider, model), newest day first."""
    groups: dict[tuple[str, str, str], list[UsageRecord]] = defaultdict(list)
    for record in records:
        groups[(record.created_at.date().isoformat(), record.provider, record.model)].append(record)
    rows = [
        UsageRow(
            day=day,
            provider=provider,
            model=model,
            requests=len(items),
            failed=sum(r.status != "completed" for r in items),
            input_tokens=sum(r.usage.input_tokens for r in items),
            output_tokens=sum(r.usage.output_tokens for r in items),
            total_tokens=sum(r.usage.total_tokens for r in items),
            cached_tokens=sum(r.usage.cached_tokens for r in items),
            reasoning_tokens=sum(r.usage.reasoning_tokens for r in items),
            cache_write_tokens=sum(r.usage.cache_write_tokens for r in items),
            cost_usd=round(sum(r.cost_usd or 0.0 for r in items), 10),
            unpriced=sum(r.cost_usd is None and r.usage.total_tokens > 0 for r in items),
        )
        for (day, provider, model), items in groups.items()
    ]
    return sorted(rows, key=lambda r: (r.day, r.provider, r.model), reverse=True)
