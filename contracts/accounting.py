"""Usage records: one per turn, for billing and ``GET /v1/usage``."""

from __future__ import annotations

from datetime import datetime

from contracts.base import Struct
from contracts.usage import Usage


class UsageRecord(Struct, frozen=True, kw_only=True):
    tenant_id: str
    key_id: str
    conversation_id: str
    provider: str
    model: str
    agent: str
    status: str
    latency_ms: float
    usage: Usage
    created_at: datetime
    cost_usd: float | None = None
    """US dollars; None when the model has no known price (docs/observability.md#cost)."""
