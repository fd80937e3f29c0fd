"""Settings: read from the environment (and a ``.env`` file) in one place, once, into one Struct per concern.

Every variable is listed in docs/configuration.md. Nothing reads ``os.environ`` anywhere else.
Provider instances are open-ended: ``SWITCHBOARD_PROVIDERS`` names them in order, and each instance's
fields come from ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>`` (see contracts/providers.py).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from backend.file_variables import FileVariableError, expand_file_variables
from contracts.base import Struct


class ConfigError(Exception):
    """A configuration problem, with a message naming the variable to fix. Startup stops on it."""


class ServerSettings(Struct, frozen=True, kw_only=True):
    env: Literal["dev", "prod", "test"] = "dev"
    """``SWITCHBOARD_ENV``: ``dev`` creates and prints a dev API key when none is configured."""
    host: str = "127.0.0.1"
    """``SWITCHBOARD_HOST``: interface ``just serve`` binds."""
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    """``SWITCHBOARD_PORT``."""
    workers: Annotated[int, Meta(ge=1, le=64)] = 1
    """``SWITCHBOARD_WORKERS``: worker processes of ``switchboard serve``."""
    max_body_bytes: Annotated[int, Meta(ge=256)] = 262_144
    """``SWITCHBOARD_MAX_BODY_BYTES``: larger request bodies get 413."""
    var_dir: str = "var"
    """``SWITCHBOARD_VAR_DIR``: where the SQLite file and the dev key live."""
    gc_freeze: bool = True
    """``SWITCHBOARD_GC_FREEZE``: freeze the start-up heap out of the garbage collector's full passes."""
    gc_gen0_threshold: Annotated[int, Meta(ge=0)] = 10_000
    """``SWITCHBOARD_GC_GEN0_THRESHOLD``: allocations between young collections (0: Python's 700)."""
    drain_grace_s: Annotated[float, Meta(ge=0, le=3600)] = 30.0
    """``SWITCHBOARD_DRAIN_GRACE_S``: on SIGTERM, open streams get this long to finish before they end
    with a retryable ``run.failed`` (``shutting_down``); see docs/deployment.md."""
    # -- hardening (docs/security.md) --
    allowed_origins: str = ""
    """``SWITCHBOARD_ALLOWED_ORIGINS``: comma-separated browser origins that may open ``WS /v1/realtime``
    (``*``: any). Empty: none. Clients that send no ``Origin`` (not browsers) are unaffected."""
    max_header_bytes: Annotated[int, Meta(ge=1024, le=1_048_576)] = 16_384
    """``SWITCHBOARD_MAX_HEADER_BYTES``: request line and headers; larger requests get 431."""
    max_headers: Annotated[int, Meta(ge=8, le=1000)] = 100
    """``SWITCHBOARD_MAX_HEADERS``: header fields per request; more get 431."""
    header_timeout_s: Annotated[float, Meta(gt=0)] = 10.0
    """``SWITCHBOARD_HEADER_TIMEOUT_S``: a request's headers must arrive within this (slow clients: 408)."""
    body_timeout_s: Annotated[float, Meta(gt=0)] = 30.0
    """``SWITCHBOARD_BODY_TIMEOUT_S``: a request's body must arrive within this after its headers."""
    idle_timeout_s: Annotated[float, Meta(gt=0)] = 5.0
    """``SWITCHBOARD_IDLE_TIMEOUT_S``: a connection sending nothing (new or between requests) is closed."""
    max_unauthenticated: Annotated[int, Meta(ge=1)] = 4096
    """``SWITCHBOARD_MAX_UNAUTHENTICATED``: open connections per process that have not yet made an
    authenticated request; beyond it new connections get 503 and are closed."""

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip())


class AuthSettings(Struct, frozen=True, kw_only=True):
    api_keys: str = ""
    """``SWITCHBOARD_API_KEYS``: comma-separated ``secret:tenant:scope+scope`` entries; the secret may be
    given as ``sha256=<hex>`` instead of in clear. Held only as SHA-256 hashes in memory."""

    def __repr__(self) -> str:  # settings are logged by libraries (svcs at DEBUG): never the keys
        return "AuthSettings(api_keys=<redacted>)"


class StoreSettings(Struct, frozen=True, kw_only=True):
    database_url: str = ""
    """``DATABASE_URL``: SQLAlchemy async URL. Empty: SQLite file ``<var_dir>/switchboard.db``."""
    sessions: Literal["sql", "memory", "redis"] = "sql"
    """``SWITCHBOARD_SESSION_STORE``: where conversations live."""
    redis_url: str = ""
    """``REDIS_URL``: needed by ``SWITCHBOARD_SESSION_STORE=redis``."""
    redis_max_connections: Annotated[int, Meta(ge=1)] = 100
    """``SWITCHBOARD_REDIS_MAX_CONNECTIONS``: Redis connections per process; more callers wait."""
    redis_pool_timeout_s: Annotated[float, Meta(gt=0)] = 5.0
    """``SWITCHBOARD_REDIS_POOL_TIMEOUT_S``: waiting longer for a Redis connection answers 503."""
    session_ttl_s: Annotated[int, Meta(ge=0)] = 0
    """``SWITCHBOARD_SESSION_TTL_S``: Redis sessions expire after this many idle seconds (0: never)."""
    db_pool_size: Annotated[int, Meta(ge=1)] = 10
    """``SWITCHBOARD_DB_POOL_SIZE``."""
    db_max_overflow: Annotated[int, Meta(ge=0)] = 10
    """``SWITCHBOARD_DB_MAX_OVERFLOW``."""
    db_pool_timeout_s: Annotated[float, Meta(gt=0)] = 5.0
    """``SWITCHBOARD_DB_POOL_TIMEOUT_S``: waiting longer for a connection answers 503."""
    migrate_on_start: bool = True
    """``SWITCHBOARD_MIGRATE_ON_START``: apply migrations at startup (the SQLite default needs it)."""


class ChatSettings(Struct, frozen=True, kw_only=True):
    agents_file: str = "config/agents.toml"
    """``SWITCHBOARD_AGENTS_FILE``: the agent catalog."""
    guardrails_file: str = "config/guardrails.toml"
    """``SWITCHBOARD_GUARDRAILS_FILE``: default guardrail policies."""
    history_limit: Annotated[int, Meta(ge=0, le=10_000)] = 50
    """``SWITCHBOARD_HISTORY_LIMIT``: newest stored items sent to the provider each turn."""
    sse_heartbeat_s: Annotated[float, Meta(ge=0.01)] = 15.0
    """``SWITCHBOARD_SSE_HEARTBEAT_S``: comment frames while a stream waits (also before the first token)."""
    agent_max_steps: Annotated[int, Meta(ge=1, le=100)] = 10
    """``SWITCHBOARD_AGENT_MAX_STEPS``: model calls allowed in one agent turn (tool loops, handoffs)."""


class LimitSettings(Struct, frozen=True, kw_only=True):
    backend: Literal["auto", "memory", "redis"] = "auto"
    """``SWITCHBOARD_RATE_LIMIT_BACKEND``: ``auto`` shares limits through Redis when ``REDIS_URL`` is set."""
    requests_per_minute: Annotated[int, Meta(ge=0)] = 0
    """``SWITCHBOARD_RATE_LIMIT_RPM``: requests per minute per API key on ``/v1`` (0: unlimited)."""
    tokens_per_minute: Annotated[int, Meta(ge=0)] = 0
    """``SWITCHBOARD_RATE_LIMIT_TPM``: tokens per minute per API key (0: unlimited)."""
    concurrent_streams: Annotated[int, Meta(ge=0)] = 0
    """``SWITCHBOARD_RATE_LIMIT_STREAMS``: open SSE streams per API key (0: unlimited)."""
    on_backend_failure: Literal["open", "closed"] = "open"
    """``SWITCHBOARD_RATE_LIMIT_FAILURE``: when the limit store is down, let requests through (``open``)
    or refuse them with 503 (``closed``)."""


class StreamSettings(Struct, frozen=True, kw_only=True):
    resume_ttl_s: Annotated[float, Meta(ge=0)] = 0.0
    """``SWITCHBOARD_STREAM_RESUME_TTL_S``: keep streamed events this long for ``Last-Event-ID`` resumes
    (0: off). When on, a client disconnect no longer cancels the run: it finishes and stays resumable."""
    backend: Literal["auto", "memory", "redis"] = "auto"
    """``SWITCHBOARD_STREAM_BACKEND``: ``auto`` keeps events in Redis when ``REDIS_URL`` is set, so any
    instance can resume a stream."""
    max_starting: Annotated[int, Meta(ge=0)] = 64
    """``SWITCHBOARD_STREAM_MAX_STARTING``: streamed calls in their setup at once per worker (from arrival
    until their request goes upstream or their first output, at most 0.5 s each); a burst of new streams
    waits its turn instead of stalling the streams already running (0: no limit)."""


class ProviderSettings(Struct, frozen=True, kw_only=True):
    enabled: tuple[str, ...] = ("scripted",)
    """``SWITCHBOARD_PROVIDERS``: enabled instances, in fallback order."""
    default: str = ""
    """``SWITCHBOARD_DEFAULT_PROVIDER``: empty means the first enabled."""
    instances: dict[str, dict[str, str]] = {}
    """Per-instance raw fields from ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>`` (lower-cased keys)."""
    plain_env: dict[str, str] = {}
    """Plain variables a kind may default from (its ``env_defaults``: ``OPENAI_API_KEY``,
    ``ANTHROPIC_API_KEY``...), those that are set; never logged."""

    def __repr__(self) -> str:  # instance fields and plain variables hold provider API keys
        return f"ProviderSettings(enabled={self.enabled!r}, default={self.default!r}, <fields redacted>)"

    @property
    def default_name(self) -> str:
        return self.default or (self.enabled[0] if self.enabled else "")

    def kind_of(self, name: str) -> str:
        return self.instances.get(name, {}).get("kind", name)


class RoutingSettings(Struct, frozen=True, kw_only=True):
    """Routes, fallback and deployment health (docs/routing.md)."""

    routes: dict[str, str] = {}
    """``SWITCHBOARD_ROUTE_<ALIAS>``: ``provider[:model][*weight], ...[; option=value ...]`` per alias
    (lower-cased); options ``strategy``, ``retries``, ``timeout_s``, ``fallback``."""
    routes_file: str = ""
    """``SWITCHBOARD_ROUTES_FILE``: a TOML file of ``[[routes]]`` (aliases of any characters, every option)."""
    default_fallback: bool = True
    """``SWITCHBOARD_DEFAULT_ROUTE_FALLBACK``: a turn naming no route, provider or model falls back along
    the enabled providers in order; ``false`` keeps it on the default provider."""
    strategy: Literal["priority", "weighted", "least_busy", "latency"] = "priority"
    """``SWITCHBOARD_ROUTING_STRATEGY``: default strategy of every route."""
    retries: Annotated[int, Meta(ge=0, le=10)] = 1
    """``SWITCHBOARD_ROUTING_RETRIES``: retries on the same deployment before falling back."""
    retry_base_delay_s: Annotated[float, Meta(ge=0)] = 0.2
    """``SWITCHBOARD_ROUTING_RETRY_BASE_DELAY_S``: first backoff (doubled per retry, jittered)."""
    max_retry_after_s: Annotated[float, Meta(ge=0)] = 10.0
    """``SWITCHBOARD_ROUTING_MAX_RETRY_AFTER_S``: an upstream ``Retry-After`` up to this is waited for;
    a longer one falls back at once."""
    timeout_s: Annotated[float, Meta(gt=0)] = 120.0
    """``SWITCHBOARD_ROUTING_TIMEOUT_S``: no retry or fallback starts this long after a model call began."""
    failures_to_open: Annotated[int, Meta(ge=1)] = 3
    """``SWITCHBOARD_ROUTING_FAILURES_TO_OPEN``: consecutive failures that open a deployment's circuit."""
    failure_rate: Annotated[float, Meta(gt=0, le=1)] = 0.5
    """``SWITCHBOARD_ROUTING_FAILURE_RATE``: or this share of failures among the last 20 outcomes (>= 10)."""
    cooldown_s: Annotated[float, Meta(gt=0)] = 30.0
    """``SWITCHBOARD_ROUTING_COOLDOWN_S``: how long an open circuit is skipped before one probe request."""
    backend: Literal["auto", "memory", "redis"] = "auto"
    """``SWITCHBOARD_ROUTING_BACKEND``: ``auto`` shares circuits through Redis when ``REDIS_URL`` is set."""


class LogSettings(Struct, frozen=True, kw_only=True):
    level: str = "INFO"
    """``SWITCHBOARD_LOG_LEVEL``."""
    format: Literal["auto", "json", "console"] = "auto"
    """``SWITCHBOARD_LOG_FORMAT``: ``auto`` is pretty on a TTY, JSON otherwise."""
    prompts: bool = False
    """``SWITCHBOARD_LOG_PROMPTS``: include prompt and answer text in logs (debugging only)."""


class MetricsSettings(Struct, frozen=True, kw_only=True):
    """Prometheus metrics (docs/observability.md)."""

    enabled: bool = False
    """``SWITCHBOARD_METRICS``: serve ``GET /metrics`` (Prometheus text format) and collect the metrics."""
    auth: Literal["operator", "none"] = "operator"
    """``SWITCHBOARD_METRICS_AUTH``: ``operator`` needs a key with the ``operator`` scope
    (``Authorization: Bearer``); ``none`` leaves ``/metrics`` open (only behind a network boundary)."""
    tenant_label: bool = False
    """``SWITCHBOARD_METRICS_TENANT_LABEL``: add a ``tenant`` label to the call, token and cost series
    (one series per tenant: only with a bounded number of tenants)."""
    multiproc_dir: str = ""
    """``PROMETHEUS_MULTIPROC_DIR``: a directory shared by the worker processes of one instance, for
    prometheus-client's multiprocess mode. ``switchboard serve`` with several workers uses
    ``<var_dir>/prometheus`` when it is not set, and empties it at start."""


class PricingSettings(Struct, frozen=True, kw_only=True):
    """What calls cost (docs/observability.md#cost)."""

    table: Literal["genai-prices", "none"] = "genai-prices"
    """``SWITCHBOARD_PRICE_TABLE``: ``genai-prices`` prices the models of OpenAI and Anthropic deployments
    from that maintained table (bundled data, no network); ``none``: only ``SWITCHBOARD_PRICES``."""
    prices: str = ""
    """``SWITCHBOARD_PRICES``: ``deployment[:model]=input,output[,cache_read[,cache_write]]`` entries,
    ``;``-separated, in US dollars per million tokens; they win over the table."""


class BudgetSettings(Struct, frozen=True, kw_only=True):
    """Spending caps in US dollars (docs/budgets.md). 0: no cap."""

    key_daily_usd: Annotated[float, Meta(ge=0)] = 0.0
    """``SWITCHBOARD_BUDGET_KEY_DAILY_USD``: per API key per UTC day."""
    key_monthly_usd: Annotated[float, Meta(ge=0)] = 0.0
    """``SWITCHBOARD_BUDGET_KEY_MONTHLY_USD``: per API key per UTC calendar month."""
    tenant_daily_usd: Annotated[float, Meta(ge=0)] = 0.0
    """``SWITCHBOARD_BUDGET_TENANT_DAILY_USD``: per tenant (all its keys) per UTC day."""
    tenant_monthly_usd: Annotated[float, Meta(ge=0)] = 0.0
    """``SWITCHBOARD_BUDGET_TENANT_MONTHLY_USD``: per tenant per UTC calendar month."""
    estimate_usd: Annotated[float, Meta(gt=0, le=1000)] = 0.05
    """``SWITCHBOARD_BUDGET_ESTIMATE_USD``: reserved per call before it runs, replaced by its real cost
    after; a budget can be overspent by at most this per call that was admitted last."""
    backend: Literal["auto", "memory", "redis"] = "auto"
    """``SWITCHBOARD_BUDGET_BACKEND``: ``auto`` shares budgets through Redis when ``REDIS_URL`` is set."""

    @property
    def enabled(self) -> bool:
        return any((self.key_daily_usd, self.key_monthly_usd, self.tenant_daily_usd, self.tenant_monthly_usd))


class OtelSettings(Struct, frozen=True, kw_only=True):
    """OpenTelemetry spans of finished calls (docs/observability.md#opentelemetry)."""

    enabled: bool = False
    """``SWITCHBOARD_OTEL``: one span per finished call (GenAI semantic conventions), exported by OTLP."""
    endpoint: str = "http://127.0.0.1:4318"
    """``SWITCHBOARD_OTEL_ENDPOINT``: the OTLP/HTTP receiver (a collector); spans go to ``/v1/traces``."""
    service_name: str = "switchboard"
    """``SWITCHBOARD_OTEL_SERVICE_NAME``: the ``service.name`` resource attribute."""


class Settings(Struct, frozen=True, kw_only=True):
    warnings: tuple[str, ...] = ()
    """Environment problems that do not stop startup (``backend/environment_check.py``); logged."""
    server: ServerSettings = ServerSettings()
    auth: AuthSettings = AuthSettings()
    stores: StoreSettings = StoreSettings()
    chat: ChatSettings = ChatSettings()
    providers: ProviderSettings = ProviderSettings()
    limits: LimitSettings = LimitSettings()
    streams: StreamSettings = StreamSettings()
    routing: RoutingSettings = RoutingSettings()
    log: LogSettings = LogSettings()
    metrics: MetricsSettings = MetricsSettings()
    pricing: PricingSettings = PricingSettings()
    budgets: BudgetSettings = BudgetSettings()
    otel: OtelSettings = OtelSettings()

    def uses_redis(self, backend: str) -> bool:
        """Whether a ``auto|memory|redis`` backend choice resolves to Redis."""
        return backend == "redis" or (backend == "auto" and bool(self.stores.redis_url))

    @property
    def database_url(self) -> str:
        if self.stores.database_url:
            return self.stores.database_url
        return f"sqlite+aiosqlite:///{Path(self.server.var_dir) / 'switchboard.db'}"


_FIELDS: dict[str, tuple[str, str]] = {
    "SWITCHBOARD_ENV": ("server", "env"),
    "SWITCHBOARD_HOST": ("server", "host"),
    "SWITCHBOARD_PORT": ("server", "port"),
    "SWITCHBOARD_WORKERS": ("server", "workers"),
    "SWITCHBOARD_MAX_BODY_BYTES": ("server", "max_body_bytes"),
    "SWITCHBOARD_VAR_DIR": ("server", "var_dir"),
    "SWITCHBOARD_GC_FREEZE": ("server", "gc_freeze"),
    "SWITCHBOARD_GC_GEN0_THRESHOLD": ("server", "gc_gen0_threshold"),
    "SWITCHBOARD_DRAIN_GRACE_S": ("server", "drain_grace_s"),
    "SWITCHBOARD_ALLOWED_ORIGINS": ("server", "allowed_origins"),
    "SWITCHBOARD_MAX_HEADER_BYTES": ("server", "max_header_bytes"),
    "SWITCHBOARD_MAX_HEADERS": ("server", "max_headers"),
    "SWITCHBOARD_HEADER_TIMEOUT_S": ("server", "header_timeout_s"),
    "SWITCHBOARD_BODY_TIMEOUT_S": ("server", "body_timeout_s"),
    "SWITCHBOARD_IDLE_TIMEOUT_S": ("server", "idle_timeout_s"),
    "SWITCHBOARD_MAX_UNAUTHENTICATED": ("server", "max_unauthenticated"),
    "SWITCHBOARD_API_KEYS": ("auth", "api_keys"),
    "DATABASE_URL": ("stores", "database_url"),
    "SWITCHBOARD_SESSION_STORE": ("stores", "sessions"),
    "REDIS_URL": ("stores", "redis_url"),
    "SWITCHBOARD_SESSION_TTL_S": ("stores", "session_ttl_s"),
    "SWITCHBOARD_REDIS_MAX_CONNECTIONS": ("stores", "redis_max_connections"),
    "SWITCHBOARD_REDIS_POOL_TIMEOUT_S": ("stores", "redis_pool_timeout_s"),
    "SWITCHBOARD_DB_POOL_SIZE": ("stores", "db_pool_size"),
    "SWITCHBOARD_DB_MAX_OVERFLOW": ("stores", "db_max_overflow"),
    "SWITCHBOARD_DB_POOL_TIMEOUT_S": ("stores", "db_pool_timeout_s"),
    "SWITCHBOARD_MIGRATE_ON_START": ("stores", "migrate_on_start"),
    "SWITCHBOARD_AGENTS_FILE": ("chat", "agents_file"),
    "SWITCHBOARD_GUARDRAILS_FILE": ("chat", "guardrails_file"),
    "SWITCHBOARD_HISTORY_LIMIT": ("chat", "history_limit"),
    "SWITCHBOARD_SSE_HEARTBEAT_S": ("chat", "sse_heartbeat_s"),
    "SWITCHBOARD_AGENT_MAX_STEPS": ("chat", "agent_max_steps"),
    "SWITCHBOARD_DEFAULT_PROVIDER": ("providers", "default"),
    "SWITCHBOARD_RATE_LIMIT_BACKEND": ("limits", "backend"),
    "SWITCHBOARD_RATE_LIMIT_RPM": ("limits", "requests_per_minute"),
    "SWITCHBOARD_RATE_LIMIT_TPM": ("limits", "tokens_per_minute"),
    "SWITCHBOARD_RATE_LIMIT_STREAMS": ("limits", "concurrent_streams"),
    "SWITCHBOARD_RATE_LIMIT_FAILURE": ("limits", "on_backend_failure"),
    "SWITCHBOARD_STREAM_RESUME_TTL_S": ("streams", "resume_ttl_s"),
    "SWITCHBOARD_STREAM_BACKEND": ("streams", "backend"),
    "SWITCHBOARD_STREAM_MAX_STARTING": ("streams", "max_starting"),
    "SWITCHBOARD_ROUTES_FILE": ("routing", "routes_file"),
    "SWITCHBOARD_DEFAULT_ROUTE_FALLBACK": ("routing", "default_fallback"),
    "SWITCHBOARD_ROUTING_STRATEGY": ("routing", "strategy"),
    "SWITCHBOARD_ROUTING_RETRIES": ("routing", "retries"),
    "SWITCHBOARD_ROUTING_RETRY_BASE_DELAY_S": ("routing", "retry_base_delay_s"),
    "SWITCHBOARD_ROUTING_MAX_RETRY_AFTER_S": ("routing", "max_retry_after_s"),
    "SWITCHBOARD_ROUTING_TIMEOUT_S": ("routing", "timeout_s"),
    "SWITCHBOARD_ROUTING_FAILURES_TO_OPEN": ("routing", "failures_to_open"),
    "SWITCHBOARD_ROUTING_FAILURE_RATE": ("routing", "failure_rate"),
    "SWITCHBOARD_ROUTING_COOLDOWN_S": ("routing", "cooldown_s"),
    "SWITCHBOARD_ROUTING_BACKEND": ("routing", "backend"),
    "SWITCHBOARD_LOG_LEVEL": ("log", "level"),
    "SWITCHBOARD_LOG_FORMAT": ("log", "format"),
    "SWITCHBOARD_LOG_PROMPTS": ("log", "prompts"),
    "SWITCHBOARD_METRICS": ("metrics", "enabled"),
    "SWITCHBOARD_METRICS_AUTH": ("metrics", "auth"),
    "SWITCHBOARD_METRICS_TENANT_LABEL": ("metrics", "tenant_label"),
    "PROMETHEUS_MULTIPROC_DIR": ("metrics", "multiproc_dir"),
    "SWITCHBOARD_PRICE_TABLE": ("pricing", "table"),
    "SWITCHBOARD_PRICES": ("pricing", "prices"),
    "SWITCHBOARD_BUDGET_KEY_DAILY_USD": ("budgets", "key_daily_usd"),
    "SWITCHBOARD_BUDGET_KEY_MONTHLY_USD": ("budgets", "key_monthly_usd"),
    "SWITCHBOARD_BUDGET_TENANT_DAILY_USD": ("budgets", "tenant_daily_usd"),
    "SWITCHBOARD_BUDGET_TENANT_MONTHLY_USD": ("budgets", "tenant_monthly_usd"),
    "SWITCHBOARD_BUDGET_ESTIMATE_USD": ("budgets", "estimate_usd"),
    "SWITCHBOARD_BUDGET_BACKEND": ("budgets", "backend"),
    "SWITCHBOARD_OTEL": ("otel", "enabled"),
    "SWITCHBOARD_OTEL_ENDPOINT": ("otel", "endpoint"),
    "SWITCHBOARD_OTEL_SERVICE_NAME": ("otel", "service_name"),
}
"""Every scalar variable and the field it sets (docs/configuration.md mirrors this table)."""

_INSTANCE_PREFIX = "SWITCHBOARD_PROVIDER_"
_ROUTE_PREFIX = "SWITCHBOARD_ROUTE_"


def _routes(env: Mapping[str, str]) -> dict[str, str]:
    """``SWITCHBOARD_ROUTE_<ALIAS>`` values by lower-cased alias."""
    return {
        key[len(_ROUTE_PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(_ROUTE_PREFIX) and len(key) > len(_ROUTE_PREFIX) and value.strip()
    }


def _provider_settings(env: Mapping[str, str], plain_variables: Collection[str]) -> dict[str, object]:
    raw = env.get("SWITCHBOARD_PROVIDERS", "scripted")
    enabled = tuple(name.strip().lower() for name in raw.split(",") if name.strip())
    instances: dict[str, dict[str, str]] = {}
    for key, value in env.items():
        if not key.startswith(_INSTANCE_PREFIX):
            continue
        rest = key[len(_INSTANCE_PREFIX) :].lower()
        for name in sorted(enabled, key=len, reverse=True):
            if rest.startswith(name + "_"):
                instances.setdefault(name, {})[rest[len(name) + 1 :]] = value
                break
    plain = {k: env[k] for k in plain_variables if env.get(k)}
    return {"enabled": enabled, "instances": instances, "plain_env": plain}


def kinds_plain_variables() -> frozenset[str]:
    """Every plain variable a provider kind defaults from (each kind's ``env_defaults``, e.g.
    ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``): a new kind declares its own, nothing here changes."""
    from backend.wiring.providers import plain_variables  # the kinds' table lives in the wiring

    return plain_variables()


def _reads_variable(name: str, plain_variables: Collection[str]) -> bool:
    """Whether ``name`` is a variable the settings read (so ``<name>_FILE`` may give it)."""
    return (
        name in _FIELDS
        or name in plain_variables
        or name == "SWITCHBOARD_PROVIDERS"
        or name.startswith(_INSTANCE_PREFIX)
    )


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    dotenv: str | None = ".env",
    plain_variables: Collection[str] | None = None,
) -> Settings:
    """Read settings from ``environ`` (default: the process environment) over a ``.env`` file; any
    variable may instead be given as ``<NAME>_FILE=/path`` (backend/file_variables.py).

    ``plain_variables``: the plain variables provider kinds default from (default: every registered
    kind's ``env_defaults``). Raises ``ConfigError`` naming the variable when a value has the wrong type
    or is not allowed.
    """
    env: dict[str, str] = {}
    if dotenv and Path(dotenv).is_file():
        from dotenv import dotenv_values

        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    plain = kinds_plain_variables() if plain_variables is None else plain_variables
    try:
        env = expand_file_variables(env, lambda name: _reads_variable(name, plain))
    except FileVariableError as exc:
        raise ConfigError(str(exc)) from None

    from backend.environment_check import environment_problems

    errors, warnings = environment_problems(env, _FIELDS)
    if errors:
        raise ConfigError("; ".join(errors))
    sections: dict[str, object] = {"warnings": tuple(warnings)}
    for var, (section, field) in _FIELDS.items():
        if var in env and env[var] != "":
            sections.setdefault(section, {})[field] = env[var]  # type: ignore[index]
    providers = _provider_settings(env, plain)
    sections["providers"] = {**sections.get("providers", {}), **providers}  # type: ignore[dict-item]
    sections["routing"] = {**sections.get("routing", {}), "routes": _routes(env)}  # type: ignore[dict-item]
    try:
        return msgspec.convert(sections, type=Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(exc)) from None


def _explain(exc: msgspec.ValidationError) -> str:
    message = str(exc)
    for var, (section, field) in _FIELDS.items():
        if f"$.{section}.{field}" in message:
            reason = message.split(" - at ")[0]
            return f"{var}: {reason}"
    return f"invalid configuration: {message}"
