"""``/health/live`` (the process answers) and ``/health/ready`` (every registered ping passes)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get

from backend.http.svcs_plugin import container_of
from backend.services.drain import Drain
from contracts.base import Struct


class Check(Struct, frozen=True, kw_only=True):
    name: str
    ok: bool
    detail: str | None = None


class Health(Struct, frozen=True, kw_only=True):
    status: str
    checks: list[Check] = []


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="Liveness (stays 200 while the process drains)")
    async def live(self) -> Health:
        return Health(status="ok")

    @get("/ready", summary="Readiness: not draining, and the database and Redis answer")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Health]:
        container = container_of(request)
        if (await container.aget(Drain)).draining:  # SIGTERM: out of rotation at once
            return Response(Health(status="draining"), status_code=503)
        pings = container.get_pings()

        async def run(ping: Any) -> Check:
            try:
                await asyncio.wait_for(ping.aping(), timeout=5)
                return Check(name=ping.name, ok=True)
            except Exception as exc:  # readiness reports failures, it never raises
                return Check(name=ping.name, ok=False, detail=type(exc).__name__)

        checks = list(await asyncio.gather(*(run(p) for p in pings)))
        ok = all(c.ok for c in checks)
        return Response(
            Health(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503
        )
