"""``GET /metrics``: Prometheus text format, served only when ``SWITCHBOARD_METRICS=true``.

Protected by default: the caller needs a key with the ``operator`` scope (``Authorization: Bearer``; a
Prometheus scrape config sets it with ``authorization: {credentials_file: ...}``).
``SWITCHBOARD_METRICS_AUTH=none`` leaves it open, for a scraper that reaches the port only through a
network boundary. A scrape is not counted against the key's requests-per-minute limit.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from backend.http.auth import presented_key, require, resolve_principal
from backend.http.svcs_plugin import container_of
from backend.settings import MetricsSettings
from contracts.auth import SCOPE_OPERATOR
from contracts.telemetry import MetricsExposition


def metrics_route(settings: MetricsSettings) -> HTTPRouteHandler:
    """The ``/metrics`` handler for these settings."""
    protected = settings.auth == "operator"

    @get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (operator scope unless SWITCHBOARD_METRICS_AUTH=none)",
        include_in_schema=False,  # an operations endpoint, like Prometheus exporters: docs/observability.md
    )
    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if protected:
            require(await resolve_principal(request, presented_key(request)), SCOPE_OPERATOR)
        exposition: MetricsExposition = await container_of(request).aget(MetricsExposition)
        body, content_type = exposition.render()
        return Response(body, media_type=content_type.split("; charset")[0])  # Litestar adds the charset

    return metrics
