"""Settings: read from the environment (and a ``.env`` file) in one place, once, into one Struct per concern.

Every variable is listed in docs/configuration.md. Nothing reads ``os.environ`` anywhere else.
Provider instances are open-ended: ``SWITCHBOARD_PROVIDERS`` names them in order, and each instance's
fields come from ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>`` (see contracts/providers.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

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


class AuthSettings(Struct, frozen=True, kw_only=True):
    api_keys: str = ""
    """``SWITCHBOARD_API_KEYS``: comma-separated ``secret:tenant:scope+scope`` entries; the secret may be
    given as ``sha256=<hex>`` instead of in clear. Held only as SHA-256 hashes in memory."""


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


class ProviderSettings(Struct, frozen=True, kw_only=True):
    enabled: tuple[str, ...] = ("scripted",)
    """``SWITCHBOARD_PROVIDERS``: enabled instances, in fallback order."""
    default: str = ""
    """``SWITCHBOARD_DEFAULT_PROVIDER``: empty means the first enabled."""
    instances: dict[str, dict[str, str]] = {}
    """Per-instance raw fields from ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>`` (lower-cased keys)."""
    plain_env: dict[str, str] = {}
    """Plain variables a kind may default from (e.g. ``OPENAI_API_KEY``); never logged."""

    @property
    def default_name(self) -> str:
        return self.default or (self.enabled[0] if self.enabled else "")

    def kind_of(self, name: str) -> str:
        return self.instances.get(name, {}).get("kind", name)


class LogSettings(Struct, frozen=True, kw_only=True):
    level: str = "INFO"
    """``SWITCHBOARD_LOG_LEVEL``."""
    format: Literal["auto", "json", "console"] = "auto"
    """``SWITCHBOARD_LOG_FORMAT``: ``auto`` is pretty on a TTY, JSON otherwise."""
    prompts: bool = False
    """``SWITCHBOARD_LOG_PROMPTS``: include prompt and answer text in logs (debugging only)."""


class Settings(Struct, frozen=True, kw_only=True):
    server: ServerSettings = ServerSettings()
    auth: AuthSettings = AuthSettings()
    stores: StoreSettings = StoreSettings()
    chat: ChatSettings = ChatSettings()
    providers: ProviderSettings = ProviderSettings()
    limits: LimitSettings = LimitSettings()
    streams: StreamSettings = StreamSettings()
    log: LogSettings = LogSettings()

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
    "SWITCHBOARD_DEFAULT_PROVIDER": ("providers", "default"),
    "SWITCHBOARD_RATE_LIMIT_BACKEND": ("limits", "backend"),
    "SWITCHBOARD_RATE_LIMIT_RPM": ("limits", "requests_per_minute"),
    "SWITCHBOARD_RATE_LIMIT_TPM": ("limits", "tokens_per_minute"),
    "SWITCHBOARD_RATE_LIMIT_STREAMS": ("limits", "concurrent_streams"),
    "SWITCHBOARD_RATE_LIMIT_FAILURE": ("limits", "on_backend_failure"),
    "SWITCHBOARD_STREAM_RESUME_TTL_S": ("streams", "resume_ttl_s"),
    "SWITCHBOARD_STREAM_BACKEND": ("streams", "backend"),
    "SWITCHBOARD_LOG_LEVEL": ("log", "level"),
    "SWITCHBOARD_LOG_FORMAT": ("log", "format"),
    "SWITCHBOARD_LOG_PROMPTS": ("log", "prompts"),
}
"""Every scalar variable and the field it sets (docs/configuration.md mirrors this table)."""

_PLAIN_PROVIDER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
_INSTANCE_PREFIX = "SWITCHBOARD_PROVIDER_"


def _provider_settings(env: Mapping[str, str]) -> dict[str, object]:
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
    plain = {k: env[k] for k in _PLAIN_PROVIDER_ENV if env.get(k)}
    return {"enabled": enabled, "instances": instances, "plain_env": plain}


def load_settings(environ: Mapping[str, str] | None = None, *, dotenv: str | None = ".env") -> Settings:
    """Read settings from ``environ`` (default: the process environment) over a ``.env`` file.

    Raises ``ConfigError`` naming the variable when a value has the wrong type or is not allowed.
    """
    env: dict[str, str] = {}
    if dotenv and Path(dotenv).is_file():
        from dotenv import dotenv_values

        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    sections: dict[str, dict[str, object]] = {}
    for var, (section, field) in _FIELDS.items():
        if var in env and env[var] != "":
            sections.setdefault(section, {})[field] = env[var]
    sections["providers"] = {**sections.get("providers", {}), **_provider_settings(env)}
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
