"""Factories of the composition root. Each one's parameters are its needs (read by the graph).

This is the only place in backend/ that touches adapters, and only by importing them inside the factory,
so that an adapter that is not chosen is never imported.
"""

from __future__ import annotations

from pathlib import Path

from backend.services.background import BackgroundTasks
from backend.services.budgets import Budgets
from backend.services.chat import ChatOptions, ChatService
from backend.services.completions import CompletionService
from backend.services.drain import Drain
from backend.services.limits import Limits
from backend.services.realtime import RealtimeService
from backend.services.stream_starts import StreamStarts
from backend.services.usage_buffer import BufferedUsageRecorder
from backend.settings import (
    AuthSettings,
    BudgetSettings,
    ChatSettings,
    ConfigError,
    LimitSettings,
    LogSettings,
    MetricsSettings,
    OtelSettings,
    PricingSettings,
    ProviderSettings,
    RoutingSettings,
    ServerSettings,
    Settings,
    StoreSettings,
    StreamSettings,
)
from backend.wiring.instance_pool import InstancePool
from backend.wiring.keys import static_key_entries
from backend.wiring.resources import Database, Metering, RedisClient, Tracing
from contracts.budgets import BudgetStore
from contracts.errors import StoreUnavailable
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
from contracts.providers import BuildContext
from contracts.routing import HealthBoard, HealthPolicy
from contracts.telemetry import CallSink, MetricsExposition

# -- resources ---------------------------------------------------------------------------------------------


async def database(settings: Settings) -> Database:
    """The SQL runner, after migrating (when on) and one ``SELECT 1``: a database that cannot be reached
    stops startup with one line naming ``DATABASE_URL`` (its password masked)."""
    from adapters.persistence.migrate import upgrade
    from adapters.persistence.sql_runner import create_runner
    from backend.wiring.stores import safe_url

    stores = settings.stores
    url = settings.database_url
    if url.startswith("sqlite"):
        _ensure_dir(settings.server.var_dir)
    runner = create_runner(
        url,
        pool_size=stores.db_pool_size,
        max_overflow=stores.db_max_overflow,
        pool_timeout=stores.db_pool_timeout_s,
    )
    try:
        if stores.migrate_on_start:
            await upgrade(url)
        await runner.ping()
    except (StoreUnavailable, OSError, TimeoutError, ConnectionError) as exc:
        await runner.aclose()
        reason = exc.detail if isinstance(exc, StoreUnavailable) else type(exc).__name__
        raise ConfigError(f"DATABASE_URL: cannot reach {safe_url(url)} ({reason})") from None
    return Database(runner=runner)


def _ensure_dir(path: str) -> None:
    """Startup-only, before the app serves: a blocking mkdir is fine here."""
    Path(path).mkdir(parents=True, exist_ok=True)


def redis_client(stores: StoreSettings) -> RedisClient:
    """One pool per process. A blocking pool makes callers wait for a free connection (up to
    ``redis_pool_timeout_s``) instead of failing at once when a burst exceeds ``redis_max_connections``;
    after an outage the first dead connection resets the others (``ReconnectingPool``)."""
    import redis.asyncio as redis

    from adapters.persistence.redis_pool import ReconnectingPool

    pool = ReconnectingPool.from_url(
        stores.redis_url,
        max_connections=stores.redis_max_connections,
        timeout=stores.redis_pool_timeout_s,
        socket_connect_timeout=2,
        socket_timeout=5,
    )
    return RedisClient(client=redis.Redis(connection_pool=pool))


# -- sessions ----------------------------------------------------------------------------------------------


def sql_sessions(db: Database) -> SessionStore:
    from adapters.persistence.sqlalchemy_sessions import SqlAlchemySessionStore

    return SqlAlchemySessionStore(db.runner)


def memory_sessions() -> SessionStore:
    from adapters.persistence.memory_sessions import MemorySessionStore

    return MemorySessionStore()


def redis_sessions(redis: RedisClient, stores: StoreSettings) -> SessionStore:
    from adapters.persistence.redis_sessions import RedisSessionStore

    return RedisSessionStore(redis.client, ttl_seconds=stores.session_ttl_s or None)


# -- guardrails, tools, agents, providers ------------------------------------------------------------------


def sql_policies(db: Database, chat: ChatSettings) -> GuardrailPolicyStore:
    from adapters.guardrails.cached_policies import CachedPolicyStore
    from adapters.guardrails.policy_file import load_policies
    from adapters.persistence.sqlalchemy_policies import SqlAlchemyPolicyStore

    return CachedPolicyStore(SqlAlchemyPolicyStore(db.runner, load_policies(chat.guardrails_file)))


def guardrail_checker(providers: ProviderDirectory) -> GuardrailChecker:
    from adapters.guardrails.engine import RuleEngineChecker

    return RuleEngineChecker(moderation=providers.moderation)


def tool_registry(sessions: SessionStore) -> ToolRegistryPort:
    from adapters.tools import default_tools

    return default_tools(sessions)


def agent_catalog(chat: ChatSettings, tools: ToolRegistryPort) -> AgentCatalog:
    from adapters.catalog.toml_catalog import TomlAgentCatalog

    return TomlAgentCatalog.load(chat.agents_file, known_tools={s.name for s in tools.specs()})


def provider_directory(
    providers: ProviderSettings,
    routing: RoutingSettings,
    chat: ChatSettings,
    tools: ToolRegistryPort,
    catalog: AgentCatalog,
    board: HealthBoard,
    pool: InstancePool,
) -> ProviderDirectory:
    from backend.wiring.providers import build_directory

    return build_directory(
        providers,
        routing,
        lambda name: BuildContext(name=name, tools=tools, catalog=catalog),
        tools=tools,
        catalog=catalog,
        max_steps=chat.agent_max_steps,
        board=board,
        pool=pool,
    )


def instance_pool() -> InstancePool:
    return InstancePool()


def redis_config_notices(redis: RedisClient) -> ConfigNotices:
    """Reload notices for every instance on this Redis (started by the app with its reloader)."""
    from adapters.config.redis_notices import RedisConfigNotices

    return RedisConfigNotices(redis.client)


def health_policy(routing: RoutingSettings) -> HealthPolicy:
    return HealthPolicy(
        failures_to_open=routing.failures_to_open,
        failure_rate=routing.failure_rate,
        cooldown_s=routing.cooldown_s,
    )


def memory_health_board(routing: RoutingSettings) -> HealthBoard:
    from adapters.routing.memory_health import MemoryHealthBoard

    return MemoryHealthBoard(health_policy(routing))


async def redis_health_board(redis: RedisClient, routing: RoutingSettings) -> HealthBoard:
    """Async so that it starts listening for other instances' notices in the serving loop."""
    from adapters.routing.redis_health import RedisHealthBoard

    board = RedisHealthBoard(redis.client, health_policy(routing))
    board.start()
    return board


# -- keys, usage, services ---------------------------------------------------------------------------------


async def api_keys(auth: AuthSettings, settings: Settings, db: Database) -> ApiKeyStore:
    """Settings keys first, then database keys. Outside dev, refuse to start when there are none."""
    from datetime import UTC, datetime

    from adapters.keys.chain import ChainedApiKeyStore
    from adapters.keys.sqlalchemy_keys import SqlAlchemyApiKeyStore
    from adapters.keys.static import StaticApiKeyStore

    entries = static_key_entries(auth, settings.server)
    stored = SqlAlchemyApiKeyStore(db.runner)
    if not entries:
        now = datetime.now(UTC)
        if not any(record.active(now) for record in await stored.list()):
            raise ConfigError(
                f"no API keys: SWITCHBOARD_API_KEYS is empty and the database holds no active key, and "
                f"SWITCHBOARD_ENV={settings.server.env} refuses to start without keys "
                "(set SWITCHBOARD_API_KEYS or run `switchboard keys create`)"
            )
    return ChainedApiKeyStore([StaticApiKeyStore(entries), stored])


def api_key_admin(db: Database) -> ApiKeyAdmin:
    """The database keys, for the admin API (the same table ``api_keys`` authenticates against)."""
    from adapters.keys.sqlalchemy_keys import SqlAlchemyApiKeyStore

    return SqlAlchemyApiKeyStore(db.runner)


def sql_usage(db: Database) -> UsageRecorder:
    """Usage goes to the database in batches, off the request's critical path."""
    from adapters.persistence.sqlalchemy_usage import SqlAlchemyUsageRecorder

    return BufferedUsageRecorder(SqlAlchemyUsageRecorder(db.runner))


def chat_service(
    catalog: AgentCatalog,
    providers: ProviderDirectory,
    sessions: SessionStore,
    policies: GuardrailPolicyStore,
    checker: GuardrailChecker,
    usage: UsageRecorder,
    background: BackgroundTasks,
    limits: Limits,
    chat: ChatSettings,
    log: LogSettings,
    sink: CallSink,
    prices: PriceBook,
    budgets: Budgets,
    starts: StreamStarts,
) -> ChatService:
    return ChatService(
        catalog=catalog,
        providers=providers,
        sessions=sessions,
        policies=policies,
        checker=checker,
        usage=usage,
        background=background,
        limits=limits,
        options=ChatOptions(history_limit=chat.history_limit, log_prompts=log.prompts),
        sink=sink,
        prices=prices,
        budgets=budgets,
        starts=starts,
    )


def completion_service(
    providers: ProviderDirectory,
    policies: GuardrailPolicyStore,
    checker: GuardrailChecker,
    usage: UsageRecorder,
    sessions: SessionStore,
    background: BackgroundTasks,
    limits: Limits,
    sink: CallSink,
    prices: PriceBook,
    budgets: Budgets,
    starts: StreamStarts,
) -> CompletionService:
    return CompletionService(
        providers=providers,
        policies=policies,
        checker=checker,
        usage=usage,
        sessions=sessions,
        background=background,
        limits=limits,
        sink=sink,
        prices=prices,
        budgets=budgets,
        starts=starts,
    )


def realtime_service(
    catalog: AgentCatalog,
    providers: ProviderDirectory,
    sessions: SessionStore,
    policies: GuardrailPolicyStore,
    checker: GuardrailChecker,
    usage: UsageRecorder,
    limits: Limits,
    sink: CallSink,
    prices: PriceBook,
) -> RealtimeService:
    return RealtimeService(
        catalog=catalog,
        providers=providers,
        sessions=sessions,
        policies=policies,
        checker=checker,
        usage=usage,
        limits=limits,
        sink=sink,
        prices=prices,
    )


def background_tasks() -> BackgroundTasks:
    return BackgroundTasks()


def drain(server: ServerSettings) -> Drain:
    """The process's drain state; ops/serving.py starts it on SIGTERM."""
    return Drain(server.drain_grace_s)


# -- limits and resumable streams --------------------------------------------------------------------------


def memory_rate_limiter() -> RateLimiter:
    from adapters.limits.memory_limiter import MemoryRateLimiter

    return MemoryRateLimiter()


def redis_rate_limiter(redis: RedisClient) -> RateLimiter:
    from adapters.limits.redis_limiter import RedisRateLimiter

    return RedisRateLimiter(redis.client)


def limits(limiter: RateLimiter, settings: LimitSettings, sink: CallSink) -> Limits:
    return Limits(limiter, settings, sink)


def stream_starts(streams: StreamSettings, metering: Metering) -> StreamStarts:
    observe = metering.collector.stream_starts_changed if metering.collector is not None else None
    return StreamStarts(streams.max_starting, observe=observe)


def memory_stream_log() -> StreamLog:
    from adapters.streams.memory_stream_log import MemoryStreamLog

    return MemoryStreamLog()


def redis_stream_log(redis: RedisClient) -> StreamLog:
    from adapters.streams.redis_stream_log import RedisStreamLog

    return RedisStreamLog(redis.client)


# -- telemetry ---------------------------------------------------------------------------------------------


def no_metering() -> Metering:
    return Metering(None)


def prometheus_metering(metrics: MetricsSettings, providers: ProviderDirectory) -> Metering:
    """prometheus-client collectors; multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    directory = metrics.multiproc_dir
    if directory:
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"PROMETHEUS_MULTIPROC_DIR: cannot create {directory} ({exc.strerror})"
            ) from None
    from adapters.telemetry.prometheus_metrics import PrometheusMetrics

    def circuits() -> list[tuple[str, str, str]]:
        return [(r.name, d.id, d.health.state) for r in providers.routes() for d in r.deployments]

    return Metering(
        PrometheusMetrics(tenant_label=metrics.tenant_label, multiproc_dir=directory, circuits=circuits)
    )


def no_tracing() -> Tracing:
    return Tracing(None)


def otel_tracing(otel: OtelSettings, providers: ProviderSettings) -> Tracing:
    """One span per finished call, exported by OTLP/HTTP in batches (imported only when on)."""
    from adapters.telemetry.otel_spans import OtelCallSink, otlp_exporter

    def provider_of(deployment: str) -> str:
        return providers.kind_of(deployment)

    return Tracing(
        OtelCallSink(otlp_exporter(otel.endpoint), service_name=otel.service_name, provider_of=provider_of)
    )


def call_sink(metering: Metering, tracing: Tracing) -> CallSink:
    """Call outcomes to the log, and to the metrics and spans that are on."""
    from backend.telemetry.call_log import CallSinks, LogCallSink

    extra = [s for s in (metering.collector, tracing.sink) if s is not None]
    return CallSinks([LogCallSink(), *extra]) if extra else LogCallSink()


def metrics_exposition(metering: Metering) -> MetricsExposition:
    exposition: MetricsExposition = metering.exposition
    return exposition


def price_book(pricing: PricingSettings, providers: ProviderSettings) -> PriceBook:
    """``SWITCHBOARD_PRICES`` over the genai-prices table (loaded off the start-up path, and only when
    an enabled instance is of a kind the table knows)."""
    from backend.services.pricing import ConfiguredPriceBook, parse_prices
    from backend.wiring.pricing import priced_deployments

    table: PriceBook | None = None
    deployments = priced_deployments(providers) if pricing.table == "genai-prices" else {}
    if deployments:
        from adapters.pricing.genai_prices_book import GenaiPricesBook, PricedAs

        table = GenaiPricesBook(
            {name: PricedAs(provider_id=pid, api_url=url) for name, (pid, url) in deployments.items()}
        )
    return ConfiguredPriceBook(parse_prices(pricing.prices), table)


def memory_budget_store() -> BudgetStore:
    from adapters.limits.memory_budgets import MemoryBudgetStore

    return MemoryBudgetStore()


def redis_budget_store(redis: RedisClient) -> BudgetStore:
    from adapters.limits.redis_budgets import RedisBudgetStore

    return RedisBudgetStore(redis.client)


def budgets(
    store: BudgetStore,
    settings: BudgetSettings,
    limits: LimitSettings,
    sink: CallSink,
    pricing: PricingSettings,
    providers: ProviderSettings,
) -> Budgets:
    """Spending caps; a store outage follows ``SWITCHBOARD_RATE_LIMIT_FAILURE``. Caps over providers that
    nothing prices would never be reached: that is logged at start-up."""
    from backend.wiring.pricing import priced_deployments

    table = priced_deployments(providers) if pricing.table == "genai-prices" else {}
    if settings.enabled and not pricing.prices.strip() and not table:
        import structlog

        structlog.get_logger("switchboard.config").warning(
            "budgets.nothing_priced",
            detail="budgets are set but no enabled provider has a price (set SWITCHBOARD_PRICES): "
            "unpriced calls cost 0 against them",
        )
    return Budgets(store, settings, fail_closed=limits.on_backend_failure == "closed", sink=sink)
