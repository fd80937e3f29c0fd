"""Live reconfiguration: re-read the configuration, validate it as start-up does, swap if valid.

``Reloader.reload`` re-reads the ``.env`` file and the configuration files (the process environment keeps
precedence and cannot change), compiles and validates the new settings with the same code path as
``switchboard check`` and start-up (``load_settings`` + ``compile_graph``), refuses changes to what
cannot change live (``RESTART_ONLY``), builds the new generation's services (reusing the kept ones and
every provider instance whose settings did not change) and only then swaps. A refusal leaves the running
configuration in place and is one line: logged, and raised as ``ConfigRejected`` to the caller.

Triggers (docs/operations.md): SIGHUP in every serving process (ops/serving.py), ``POST
/v1/admin/reload`` and ``switchboard reload``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path

import msgspec
import structlog

from backend.settings import _FIELDS, ConfigError, Settings, load_settings
from backend.wiring.generations import Generations, build_generation
from backend.wiring.resources import Metering
from backend.wiring.table import CompiledGraph, compile_graph
from contracts.config import ReloadResult
from contracts.errors import ConfigRejected
from contracts.ports import ConfigNotices

log = structlog.get_logger("switchboard.config")

LIVE: frozenset[str] = frozenset(
    {
        "SWITCHBOARD_API_KEYS",
        "SWITCHBOARD_AGENTS_FILE",
        "SWITCHBOARD_GUARDRAILS_FILE",
        "SWITCHBOARD_HISTORY_LIMIT",
        "SWITCHBOARD_AGENT_MAX_STEPS",
        "SWITCHBOARD_DEFAULT_PROVIDER",
        "SWITCHBOARD_RATE_LIMIT_RPM",
        "SWITCHBOARD_RATE_LIMIT_TPM",
        "SWITCHBOARD_RATE_LIMIT_STREAMS",
        "SWITCHBOARD_RATE_LIMIT_FAILURE",
        "SWITCHBOARD_ROUTES_FILE",
        "SWITCHBOARD_DEFAULT_ROUTE_FALLBACK",
        "SWITCHBOARD_ROUTING_STRATEGY",
        "SWITCHBOARD_ROUTING_RETRIES",
        "SWITCHBOARD_ROUTING_RETRY_BASE_DELAY_S",
        "SWITCHBOARD_ROUTING_MAX_RETRY_AFTER_S",
        "SWITCHBOARD_ROUTING_TIMEOUT_S",
        "SWITCHBOARD_LOG_PROMPTS",
    }
)
"""Scalar variables a reload may change. Also live: ``SWITCHBOARD_PROVIDERS``, every
``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>``, ``SWITCHBOARD_ROUTE_<ALIAS>`` and the plain provider variables
(``OPENAI_API_KEY``...), and the content of the agents, guardrails and routes files."""
RESTART_ONLY: tuple[str, ...] = tuple(name for name in _FIELDS if name not in LIVE)
"""Server, store (database, Redis), stream, circuit and log-format settings: built once per process."""


def _value(settings: Settings, variable: str) -> object:
    section, name = _FIELDS[variable]
    return getattr(getattr(settings, section), name)


def restart_problems(running: Settings, new: Settings) -> list[str]:
    """The restart-only variables whose value differs, as one problem (empty: none)."""
    changed = [v for v in RESTART_ONLY if _value(running, v) != _value(new, v)]
    if not changed:
        return []
    return [f"{', '.join(changed)} changed: not reconfigurable live, needs a restart"]


def config_version(settings: Settings) -> str:
    """A digest of the effective settings and of the configuration files they name (12 hex digits)."""
    digest = hashlib.sha256(msgspec.json.encode(msgspec.structs.replace(settings, warnings=())))
    for name in (settings.chat.agents_file, settings.chat.guardrails_file, settings.routing.routes_file):
        digest.update(b"\0" + name.encode())
        if name:
            try:
                digest.update(Path(name).read_bytes())
            except OSError:
                digest.update(b"<unreadable>")
    return digest.hexdigest()[:12]


class Reloader:
    """Reloads one app's configuration. One reload at a time; each is validated on its own."""

    def __init__(
        self,
        generations: Generations,
        load: Callable[[], Settings] = load_settings,
        *,
        fan_out: Callable[[], None] | None = None,
    ) -> None:
        self.generations = generations
        self._load = load
        self.fan_out = fan_out
        """Set by ``switchboard serve`` with several workers: tells the other workers to reload."""
        self._lock = asyncio.Lock()
        self.notices: ConfigNotices | None = None

    def listen(self, notices: ConfigNotices | None) -> None:
        """Announce this process's applied reloads to the other instances, and reload on theirs."""
        self.notices = notices
        if notices is not None:
            notices.start(self._on_notice)

    async def _on_notice(self, version: str) -> None:
        log.info("config.notice_received", version=version)
        with contextlib.suppress(ConfigRejected):  # logged by reload; this instance keeps its configuration
            await self.reload(source="redis")

    def _compile(self) -> tuple[CompiledGraph, str]:
        settings = self._load()
        compiled = compile_graph(settings)
        problems = restart_problems(self.generations.current.settings, settings)
        if problems:
            raise ConfigError("; ".join(problems))
        return compiled, config_version(settings)

    def _count(self, outcome: str) -> None:
        """Count the reload in the metrics, when they are on (the collector is kept across generations)."""
        metering = self.generations.current.services.get(Metering)
        if isinstance(metering, Metering) and metering.collector is not None:
            metering.collector.config_reloaded(outcome)

    async def reload(self, *, source: str, signal_workers: bool = False) -> ReloadResult:
        """Apply the configuration on disk, or raise ``ConfigRejected`` (the running one stays)."""
        async with self._lock:
            running = self.generations.current
            previous = running.config.version
            try:
                # reading files and importing a newly enabled kind must not stall the serving loop
                compiled, version = await asyncio.to_thread(self._compile)
                if version == previous:
                    result = ReloadResult(
                        outcome="unchanged", config=running.config, previous_version=previous
                    )
                else:
                    new = await build_generation(
                        compiled, version=version, number=running.config.generation + 1, kept=running.kept()
                    )
                    new.registry.register_value(Reloader, self)  # the admin route asks every generation
                    self.generations.swap(new)
                    result = ReloadResult(outcome="applied", config=new.config, previous_version=previous)
            except ConfigError as exc:
                reason = str(exc)
            except Exception as exc:  # a provider's factory failing: refuse the same way
                reason = f"reload failed: {type(exc).__name__}: {exc}"
            else:
                for warning in compiled.settings.warnings:
                    log.warning("config.warning", detail=warning)
                log.info(
                    "config.reloaded" if result.outcome == "applied" else "config.unchanged",
                    source=source,
                    version=result.config.version,
                    previous_version=previous,
                    generation=result.config.generation,
                    providers=list(compiled.settings.providers.enabled),
                )
                if result.outcome == "applied" and source != "redis" and self.notices is not None:
                    await self.notices.publish(result.config.version)
                if signal_workers and self.fan_out is not None:
                    self.fan_out()
                    result = msgspec.structs.replace(result, workers_signalled=True)
                self._count(result.outcome)
                return result
        log.warning("config.reload_refused", source=source, reason=reason, version=previous)
        self._count("refused")
        raise ConfigRejected(reason)
