"""``GET /v1/usage``: the caller's tenant's usage by day, provider and model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from backend.http.auth import GUARDS, provide_principal, require
from backend.http.openapi import problems
from backend.http.svcs_plugin import Injected, port
from backend.services.usage_summary import UsageSummary, summarise
from contracts.auth import SCOPE_READ, Principal
from contracts.ports import UsageRecorder

Days = Annotated[int, QueryParameter(ge=1, le=90, description="how many days back (UTC), today included")]


@get(
    "/v1/usage",
    tags=["usage"],
    guards=GUARDS,
    responses=problems(403),
    summary="Usage of the caller's tenant by day, provider and model",
    dependencies={"principal": provide_principal, "usage": port(UsageRecorder)},
)
async def usage_summary(
    principal: NamedDependency[Principal], usage: Injected[UsageRecorder], days: Days = 7
) -> UsageSummary:
    require(principal, SCOPE_READ)
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    records = await usage.since(principal.tenant_id, start)
    return UsageSummary(
        tenant_id=principal.tenant_id, since=start.date().isoformat(), data=summarise(records)
    )
