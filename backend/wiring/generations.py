"""Configuration generations: the live services built from one configuration, swapped atomically.

A generation is an ``svcs.Registry`` holding the services rebuilt by a reload (provider directory, agent
catalog, guardrail policies, keys, the services composed of them) plus the ``KEPT`` ones shared by every
generation (stores, pools, process state: backend/wiring/table.py). The container middleware opens each
connection's container on the current generation and holds it until the response (an SSE stream, a
WebSocket) has ended: a request pins the generation it started on. A swap makes new connections use
the new generation; the old one is closed when its last connection ends, which hands its provider
instances back to the ``InstancePool`` (closing those no generation uses any more).

Generation 1's registry is the app's own (its kept services are closed with it at shutdown); later ones
get a registry of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
import svcs

from backend.settings import Settings
from backend.wiring.table import KEPT, CompiledGraph, build_services
from contracts.config import ConfigVersion

log = structlog.get_logger("switchboard.config")


@dataclass(eq=False)
class Generation:
    registry: svcs.Registry
    settings: Settings
    config: ConfigVersion
    services: dict[type, Any] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    users: int = 0
    """Connections whose container is open on this generation."""
    retired: bool = False
    closed: bool = False

    def kept(self) -> dict[type, Any]:
        """The services the next generation reuses as they are."""
        return {port: obj for port, obj in self.services.items() if port in KEPT}

    async def aclose(self) -> None:
        """Close what this generation built (never the kept services). Idempotent."""
        if self.closed:
            return
        self.closed = True
        for close in reversed(self.closers):
            try:
                await close()
            except Exception as exc:  # one failing cleanup must not keep the others open
                log.warning(
                    "config.close_failed", generation=self.config.generation, error=type(exc).__name__
                )


async def build_generation(
    compiled: CompiledGraph,
    *,
    version: str,
    number: int,
    registry: svcs.Registry | None = None,
    kept: dict[type, Any] | None = None,
) -> Generation:
    """Build the services of ``compiled`` (reusing ``kept``) into a new generation."""
    registry = registry if registry is not None else svcs.Registry()
    config = ConfigVersion(version=version, loaded_at=datetime.now(UTC), generation=number)
    generation = Generation(registry=registry, settings=compiled.settings, config=config)
    generation.services = await build_services(compiled, registry, kept=kept, owned=generation.closers)
    registry.register_value(ConfigVersion, config)
    return generation


class Generations:
    """The current generation, and the retired ones still in use. One per app."""

    def __init__(self, first: Generation) -> None:
        self.current = first
        self._retired: set[Generation] = set()
        self._closing: set[asyncio.Task[None]] = set()

    def enter(self) -> Generation:
        """Pin the current generation for one connection; pair with ``leave``."""
        generation = self.current
        generation.users += 1
        return generation

    def leave(self, generation: Generation) -> None:
        generation.users -= 1
        if generation.retired and generation.users == 0:
            self._close_later(generation)

    def swap(self, new: Generation) -> Generation:
        """Make ``new`` current; the previous one closes once its last connection has ended."""
        old, self.current = self.current, new
        old.retired = True
        if old.users == 0:
            self._close_later(old)
        else:
            self._retired.add(old)
        return old

    def in_use(self) -> list[Generation]:
        """Every generation not closed yet (current first)."""
        return [self.current, *(g for g in self._retired if not g.closed)]

    def _close_later(self, generation: Generation) -> None:
        """Closing awaits clients' cleanup: run it as its own task, never inside a response's ``finally``
        (which a client disconnect may cancel)."""
        self._retired.discard(generation)
        if generation.closed:
            return
        task = asyncio.get_running_loop().create_task(generation.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """At shutdown: close every generation still open (the kept services are the registry's)."""
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        for generation in [*self._retired, self.current]:
            await generation.aclose()
        self._retired.clear()
