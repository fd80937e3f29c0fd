"""The HTTP application factory: ``create_app()`` (uvicorn: ``backend.app:create_app --factory``).

Order of events: settings are read, the dependency graph is compiled and validated (a bad configuration
raises ``ConfigError`` here, before anything serves), then on startup every service is built once and
registered with svcs; on shutdown the registry closes them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
import svcs
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components

from backend.http.allow_header import AllowHeaderMiddleware
from backend.http.body_request import BodyRequest
from backend.http.controllers.admin import AdminController
from backend.http.controllers.catalog import CatalogController
from backend.http.controllers.chat import ChatController
from backend.http.controllers.conversations import ConversationController
from backend.http.controllers.guardrails import GuardrailController
from backend.http.controllers.health import HealthController
from backend.http.controllers.metrics import metrics_route
from backend.http.controllers.realtime import realtime
from backend.http.controllers.reload import ReloadController
from backend.http.controllers.usage import usage_summary
from backend.http.local_assets import asset_routers, docs_render_plugins, home
from backend.http.openapi import SECURITY, SECURITY_SCHEMES, finish
from backend.http.problems import EXCEPTION_HANDLERS
from backend.http.request_log import RequestLogMiddleware
from backend.http.security_headers import SecurityHeadersMiddleware
from backend.http.surfaces.anthropic_messages.router import AnthropicMessagesController
from backend.http.surfaces.openai_chat.router import OpenAIChatController
from backend.http.surfaces.openai_embeddings.router import OpenAIEmbeddingsController
from backend.http.surfaces.openai_models.router import OpenAIModelsController
from backend.http.surfaces.openai_responses.router import OpenAIResponsesController
from backend.http.svcs_plugin import SvcsPlugin
from backend.runtime.heap import settle_heap
from backend.serving.options import connection_limits
from backend.serving.protocol import configure_protocol
from backend.settings import Settings, load_settings
from backend.telemetry.logging import configure_logging
from backend.wiring.generations import Generation, Generations, build_generation
from backend.wiring.reload import Reloader, config_version
from backend.wiring.table import compile_graph
from contracts.config import ConfigVersion
from contracts.ports import ConfigNotices

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    configure: Callable[[svcs.Registry], Any] | None = None,
    generation: Generation | None = None,
    reload_settings: Callable[[], Settings] = load_settings,
) -> Litestar:
    """Build the app. ``configure`` runs after the registry is built: tests use it to override services
    (``registry.register_value(Port, fake)``) instead of monkeypatching. A first ``generation`` already
    built by ``build_generation`` (``switchboard serve`` with one worker) is used as it is.

    ``reload_settings`` reads the configuration again for a live reload (``Reloader``; default: the
    environment over ``.env``, as at start-up)."""
    settings = settings or load_settings()
    compiled = None if generation is not None else compile_graph(settings)  # a prebuilt one was compiled
    configure_logging(settings.log)
    configure_protocol(connection_limits(settings.server))  # this worker's limits (backend/serving)
    for warning in settings.warnings:
        structlog.get_logger("switchboard.config").warning("config.warning", detail=warning)
    first = generation or Generation(
        registry=svcs.Registry(),
        settings=settings,
        config=ConfigVersion(version="", loaded_at=datetime.now(UTC), generation=1),
    )
    registry = first.registry
    generations = Generations(first)
    reloader = Reloader(generations, reload_settings)

    async def startup() -> None:
        finish(app.openapi_schema)  # headers and per-route security the handlers cannot declare
        if compiled is not None:
            built = await build_generation(
                compiled, version=config_version(settings), number=1, registry=registry
            )
            first.config, first.services, first.closers = built.config, built.services, built.closers
        registry.register_value(Reloader, reloader)
        reloader.listen(first.services.get(ConfigNotices))  # several instances on one Redis
        if configure is not None:
            configure(registry)
        settle_heap(freeze=settings.server.gc_freeze, gen0_threshold=settings.server.gc_gen0_threshold)

    app = Litestar(
        route_handlers=[
            ChatController,
            ConversationController,
            CatalogController,
            AdminController,
            GuardrailController,
            HealthController,
            realtime,
            usage_summary,
            OpenAIChatController,
            OpenAIModelsController,
            OpenAIEmbeddingsController,
            OpenAIResponsesController,
            AnthropicMessagesController,
            home,
            *asset_routers(),
            *([metrics_route(settings.metrics)] if settings.metrics.enabled else []),
            ReloadController,
        ],
        plugins=[SvcsPlugin(registry, startup, generations=generations)],
        middleware=[RequestLogMiddleware(), SecurityHeadersMiddleware(), AllowHeaderMiddleware()],
        request_class=BodyRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.server.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Switchboard",
            version="1",
            description="Provider-agnostic AI orchestration: one neutral API, providers chosen by environment.",
            path="/docs",
            render_plugins=docs_render_plugins(),  # Swagger UI, every file served locally
            components=Components(security_schemes=SECURITY_SCHEMES),
            security=SECURITY,
        ),
        logging_config=None,  # structlog is configured by configure_logging
        debug=False,
    )
    return app
