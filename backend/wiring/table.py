"""The composition root's declarative table: for each port, the factory chosen by settings.

``compile_graph(settings)`` checks the settings and the graph before anything is built ("compile time");
``build_registry`` then creates every service once, in dependency order, and registers it with svcs
(pings for readiness, cleanup on registry close).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import svcs

from backend.services.background import BackgroundTasks
from backend.services.budgets import Budgets
from backend.services.chat import ChatService
from backend.services.completions import CompletionService
from backend.services.drain import Drain
from backend.services.limits import Limits
from backend.services.realtime import RealtimeService
from backend.services.stream_starts import StreamStarts
from backend.settings import ConfigError, Settings
from backend.wiring import factories as f
from backend.wiring.files import file_problems
from backend.wiring.graph import Graph, GraphError, Provide
from backend.wiring.instance_pool import InstancePool
from backend.wiring.keys import key_problems
from backend.wiring.pricing import pricing_problems
from backend.wiring.providers import provider_problems
from backend.wiring.resources import Database, Metering, RedisClient, Tracing
from backend.wiring.routes import configured_routes
from backend.wiring.stores import url_problems
from contracts.budgets import BudgetStore
from contracts.ports import (
    AgentCatalog,
    ApiKeyAdmin,
    ApiKeyStore,
    ConfigNotices,
    GuardrailChecker,
    GuardrailPolicyStore,
    ProviderDirectory,
    RateLimiter,
    SessionStore,
    StreamLog,
    ToolRegistryPort,
    UsageRecorder,
)
from contracts.pricing import PriceBook
from contracts.routing import HealthBoard
from contracts.telemetry import CallSink, MetricsExposition

REQUIRED: tuple[type, ...] = (
    ChatService,
    CompletionService,
    SessionStore,
    ProviderDirectory,
    AgentCatalog,
    ToolRegistryPort,
    GuardrailPolicyStore,
    GuardrailChecker,
    ApiKeyAdmin,
    ApiKeyStore,
    UsageRecorder,
    StreamLog,
    BackgroundTasks,
    Limits,
    Drain,
    RealtimeService,
)
"""Ports the HTTP edge asks for."""

KEPT: frozenset[type] = frozenset(
    {
        Database,
        RedisClient,
        SessionStore,
        ToolRegistryPort,
        HealthBoard,
        InstancePool,
        UsageRecorder,
        BackgroundTasks,
        Drain,
        RateLimiter,
        StreamLog,
        ConfigNotices,
        Metering,
        MetricsExposition,
        Tracing,
        PriceBook,
        BudgetStore,
        Budgets,
        CallSink,
    }
)
"""Services built once per process and handed as they are to every configuration generation (stores,
pools, process state: metric collectors, the span exporter, the price table and budget reservations too). Every other service is rebuilt by a reload (backend/wiring/generations.py); the
settings these depend on cannot change live (backend/wiring/reload.py)."""


def table(settings: Settings) -> list[Provide]:
    """Port -> factory, chosen by settings."""
    stores = settings.stores
    # Policies overrides, keys and usage always live in the database; sessions may live elsewhere.
    db_label = "sqlite" if settings.database_url.startswith("sqlite") else "postgres"
    rows = [Provide(Database, f.database, f"sqlalchemy ({db_label})", close="aclose", ping="ping")]
    if stores.redis_url:
        rows.append(Provide(RedisClient, f.redis_client, "redis", close="aclose", ping="ping"))
        rows.append(
            Provide(
                ConfigNotices,
                f.redis_config_notices,
                "RedisConfigNotices (reloads reach every instance)",
                close="aclose",
            )
        )
    sessions = {
        "sql": Provide(SessionStore, f.sql_sessions, "SqlAlchemySessionStore"),
        "memory": Provide(SessionStore, f.memory_sessions, "MemorySessionStore"),
        "redis": Provide(SessionStore, f.redis_sessions, "RedisSessionStore"),
    }[stores.sessions]
    rows += [
        sessions,
        Provide(GuardrailPolicyStore, f.sql_policies, "SqlAlchemyPolicyStore + policy file, cached 2 s"),
        Provide(ToolRegistryPort, f.tool_registry, "ToolRegistry (time, calculator, search)"),
        Provide(AgentCatalog, f.agent_catalog, "TomlAgentCatalog"),
        (
            Provide(
                HealthBoard,
                f.redis_health_board,
                "RedisHealthBoard (circuits shared by instances)",
                close="aclose",
            )
            if settings.uses_redis(settings.routing.backend)
            else Provide(HealthBoard, f.memory_health_board, "MemoryHealthBoard (circuits in this process)")
        ),
        Provide(
            InstancePool,
            f.instance_pool,
            "InstancePool (provider clients kept across reloads)",
            close="aclose",
        ),
        Provide(
            ProviderDirectory,
            f.provider_directory,
            f"providers: {', '.join(settings.providers.enabled)}; routes: {_route_label(settings)}",
            close="aclose",  # no readiness ping: a third-party outage must not take every instance out of
        ),  # rotation; provider health is reported by GET /v1/providers
        *_telemetry(settings),
        Provide(PriceBook, f.price_book, _price_label(settings)),
        (
            Provide(BudgetStore, f.redis_budget_store, "RedisBudgetStore (shared by instances)")
            if settings.uses_redis(settings.budgets.backend)
            else Provide(BudgetStore, f.memory_budget_store, "MemoryBudgetStore")
        ),
        Provide(Budgets, f.budgets, _budget_label(settings)),
        Provide(GuardrailChecker, f.guardrail_checker, "RuleEngineChecker"),
        Provide(ApiKeyStore, f.api_keys, "settings keys + SqlAlchemyApiKeyStore"),
        Provide(ApiKeyAdmin, f.api_key_admin, "SqlAlchemyApiKeyStore (admin API)"),
        Provide(UsageRecorder, f.sql_usage, "SqlAlchemyUsageRecorder (buffered)", close="aclose"),
        Provide(BackgroundTasks, f.background_tasks, "BackgroundTasks", close="drain"),
        Provide(Drain, f.drain, f"Drain (grace {settings.server.drain_grace_s:g} s)"),
        Provide(Limits, f.limits, "Limits (on first request)", per_request=True),
        Provide(StreamStarts, f.stream_starts, _starts_label(settings)),
        (
            Provide(RateLimiter, f.redis_rate_limiter, "RedisRateLimiter")
            if settings.uses_redis(settings.limits.backend)
            else Provide(RateLimiter, f.memory_rate_limiter, "MemoryRateLimiter")
        ),
        (
            Provide(StreamLog, f.redis_stream_log, "RedisStreamLog")
            if settings.uses_redis(settings.streams.backend)
            else Provide(StreamLog, f.memory_stream_log, "MemoryStreamLog")
        ),
        Provide(ChatService, f.chat_service, "ChatService (on first request)", per_request=True),
        Provide(
            CompletionService, f.completion_service, "CompletionService (on first request)", per_request=True
        ),
        Provide(RealtimeService, f.realtime_service, "RealtimeService (on first request)", per_request=True),
    ]
    return rows


def _starts_label(settings: Settings) -> str:
    limit = settings.streams.max_starting
    return f"StreamStarts ({limit} at once)" if limit else "StreamStarts (no limit)"


def _telemetry(settings: Settings) -> list[Provide]:
    """Call outcomes to the log, to Prometheus collectors and to OpenTelemetry spans when they are on."""
    rows: list[Provide] = []
    sinks = ["LogCallSink"]
    if settings.metrics.enabled:
        mode = "multiprocess" if settings.metrics.multiproc_dir else "one process"
        rows += [
            Provide(Metering, f.prometheus_metering, f"PrometheusMetrics ({mode})", close="aclose"),
            Provide(MetricsExposition, f.metrics_exposition, "PrometheusMetrics (GET /metrics)"),
        ]
        sinks.append("PrometheusMetrics")
    else:
        rows.append(Provide(Metering, f.no_metering, "metrics off"))
    if settings.otel.enabled:
        label = f"OtelCallSink (OTLP/HTTP to {settings.otel.endpoint})"
        rows.append(Provide(Tracing, f.otel_tracing, label, close="aclose"))
        sinks.append("OtelCallSink")
    else:
        rows.append(Provide(Tracing, f.no_tracing, "spans off"))
    return [*rows, Provide(CallSink, f.call_sink, " + ".join(sinks))]


def _price_label(settings: Settings) -> str:
    pricing = settings.pricing
    table = "genai-prices" if pricing.table == "genai-prices" else "no table"
    return f"SWITCHBOARD_PRICES + {table}" if pricing.prices.strip() else table


def _budget_label(settings: Settings) -> str:
    b = settings.budgets
    caps = [
        f"{name} ${cap:g}"
        for name, cap in (
            ("key/day", b.key_daily_usd),
            ("key/month", b.key_monthly_usd),
            ("tenant/day", b.tenant_daily_usd),
            ("tenant/month", b.tenant_monthly_usd),
        )
        if cap > 0
    ]
    return f"Budgets ({', '.join(caps)})" if caps else "Budgets (no caps)"


def _route_label(settings: Settings) -> str:
    from backend.wiring.routes import configured_routes

    names = [spec.name for spec, _ in configured_routes(settings.routing, settings.providers)[0]]
    return ", ".join([*names, "default"] if "default" not in names else names)


def values(settings: Settings) -> dict[type, object]:
    """Settings Structs are graph values: factories ask for the concern they need."""
    return {
        Settings: settings,
        **{type(getattr(settings, name)): getattr(settings, name) for name in settings.__struct_fields__},
    }


@dataclass(frozen=True, slots=True)
class CompiledGraph:
    settings: Settings
    graph: Graph
    order: list[Provide]


def compile_graph(settings: Settings) -> CompiledGraph:
    """Validate settings and the graph. Raises ``ConfigError`` with every problem in one message."""
    problems = provider_problems(settings.providers) + key_problems(settings.auth) + url_problems(settings)
    if not problems:
        problems = pricing_problems(settings.pricing, settings.providers)
    if settings.otel.enabled and not settings.otel.endpoint.startswith(("http://", "https://")):
        problems.append(f"SWITCHBOARD_OTEL_ENDPOINT: {settings.otel.endpoint!r} is not an http(s) URL")
    if not problems:
        problems = configured_routes(settings.routing, settings.providers)[1]
    for variable, choice in (
        ("SWITCHBOARD_SESSION_STORE", settings.stores.sessions),
        ("SWITCHBOARD_RATE_LIMIT_BACKEND", settings.limits.backend),
        ("SWITCHBOARD_STREAM_BACKEND", settings.streams.backend),
        ("SWITCHBOARD_ROUTING_BACKEND", settings.routing.backend),
        ("SWITCHBOARD_BUDGET_BACKEND", settings.budgets.backend),
    ):
        if choice == "redis" and not settings.stores.redis_url:
            problems.append(f"{variable}=redis needs REDIS_URL")
    if not problems:
        problems = file_problems(settings.chat, settings.providers)
    if problems:
        raise ConfigError("; ".join(problems))
    graph = Graph(table(settings), values(settings))
    try:
        order = graph.validate(REQUIRED)
    except GraphError as exc:
        raise ConfigError(f"dependency graph: {exc}") from None
    return CompiledGraph(settings=settings, graph=graph, order=order)


async def build_registry(compiled: CompiledGraph, registry: svcs.Registry | None = None) -> svcs.Registry:
    """Create every service in dependency order and register it (with ping and cleanup) on ``registry``."""
    registry = registry or svcs.Registry()
    await build_services(compiled, registry)
    return registry


async def build_services(
    compiled: CompiledGraph,
    registry: svcs.Registry,
    *,
    kept: Mapping[type, Any] | None = None,
    owned: list[Callable[[], Awaitable[Any]]] | None = None,
) -> dict[type, Any]:
    """Build the services in dependency order, register them on ``registry`` and return them by port.

    ``kept``: services already built (by an earlier generation) to register as they are, never closed
    here. ``owned``: when given, the cleanup of services outside ``KEPT`` goes to this list (their
    generation closes them) instead of to the registry's close."""
    built: dict[type, Any] = dict(compiled.graph.values)
    for value_type, value in compiled.graph.values.items():
        registry.register_value(value_type, value)
    try:
        for provide in compiled.order:
            if provide.per_request:
                registry.register_factory(
                    provide.port, _from_container(compiled.graph.needs(provide), provide)
                )
                continue
            if kept is not None and provide.port in kept:
                obj = built[provide.port] = kept[provide.port]
                registry.register_value(provide.port, obj, ping=_ping(provide.ping))
                continue
            kwargs = {name: built[t] for name, t in compiled.graph.needs(provide).items()}
            obj = provide.factory(**kwargs)
            if inspect.isawaitable(obj):
                obj = await obj
            built[provide.port] = obj
            close = _method(obj, provide.close)
            if owned is not None and provide.port not in KEPT:
                if close is not None:
                    owned.append(close)
                close = None
            registry.register_value(provide.port, obj, ping=_ping(provide.ping), on_registry_close=close)
    except BaseException:
        for close in reversed(owned or []):
            await close()
        await registry.aclose()
        raise
    return built


def _from_container(needs: dict[str, type], provide: Provide) -> Callable[..., Any]:
    """A svcs factory building ``provide`` from what the first request's container resolves (so overrides
    registered after the registry was built reach it), then handing every later request the same object:
    these services hold no per-request state, and building them per request cost ~5% of a pass-through."""
    built: list[Any] = []

    async def factory(svcs_container: svcs.Container) -> Any:
        if built:
            return built[0]
        kwargs: dict[str, Any] = {name: await svcs_container.aget(t) for name, t in needs.items()}
        obj = provide.factory(**kwargs)
        built.append(obj)
        return obj

    return factory


def _method(obj: object, name: str | None) -> Callable[..., Any] | None:
    return getattr(obj, name) if name else None


def _ping(name: str | None) -> Callable[[Any], Any] | None:
    """svcs calls a ping with the service instance."""
    if name is None:
        return None

    async def ping(service: Any) -> None:
        await getattr(service, name)()

    return ping
