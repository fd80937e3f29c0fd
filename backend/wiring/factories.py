"""Factories of the composition root. Each one's parameters are its needs (read by the graph).

This is the only place in backend/ that touches adapters, and only by importing them inside the factory,
so that an adapter that is not chosen is never imported.
"""

from __future__ import annotations

from pathlib import Path

from backend.services.background import BackgroundTasks
from backend.services.chat import ChatOptions, ChatService
from backend.services.completions import CompletionService
from backend.services.drain import Drain
from backend.services.limits import Limits
from backend.services.realtime import RealtimeService
from backend.services.usage_buffer import BufferedUsageRecorder
from backend.settings import (
    AuthSettings,
    ChatSettings,
    ConfigError,
    LimitSettings,
    LogSettings,
    ProviderSettings,
    RoutingSettings,
    ServerSettings,
    Settings,
    StoreSettings,
)
from backend.wiring.instance_pool import InstancePool
from backend.wiring.keys import static_key_entries
from backend.wiring.resources import Database, RedisClient
from contracts.errors import StoreUnavailable
from contracts.ports import (
    AgentCatalog,
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
from contracts.providers import BuildContext
from contracts.routing import HealthBoard, HealthPolicy

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
    )


def completion_service(
    providers: ProviderDirectory,
    policies: GuardrailPolicyStore,
    checker: GuardrailChecker,
    usage: UsageRecorder,
    sessions: SessionStore,
    background: BackgroundTasks,
    limits: Limits,
) -> CompletionService:
    return CompletionService(
        providers=providers,
        policies=policies,
        checker=checker,
        usage=usage,
        sessions=sessions,
        background=background,
        limits=limits,
    )


def realtime_service(
    catalog: AgentCatalog,
    providers: ProviderDirectory,
    sessions: SessionStore,
    policies: GuardrailPolicyStore,
    checker: GuardrailChecker,
    usage: UsageRecorder,
    limits: Limits,
) -> RealtimeService:
    return RealtimeService(
        catalog=catalog,
        providers=providers,
        sessions=sessions,
        policies=policies,
        checker=checker,
        usage=usage,
        limits=limits,
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


def limits(limiter: RateLimiter, settings: LimitSettings) -> Limits:
    return Limits(limiter, settings)


def memory_stream_log() -> StreamLog:
    from adapters.streams.memory_stream_log import MemoryStreamLog

    return MemoryStreamLog()


def redis_stream_log(redis: RedisClient) -> StreamLog:
    from adapters.streams.redis_stream_log import RedisStreamLog

    return RedisStreamLog(redis.client)
