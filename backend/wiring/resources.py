"""Long-lived resources shared by several adapters: one database runner and one Redis client per process.

They are graph nodes of their own so that each is created once, pinged for readiness and closed on
shutdown, whichever adapters use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Database:
    """The SQL stores' ``SqlRunner`` (adapters/persistence/sql_runner.py): an async engine's pool on
    PostgreSQL, one thread and one connection on SQLite."""

    runner: Any

    async def ping(self) -> None:
        await self.runner.ping()

    async def aclose(self) -> None:
        await self.runner.aclose()


@dataclass(slots=True)
class RedisClient:
    """A pooled ``redis.asyncio.Redis`` client."""

    client: Any

    async def ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.client.connection_pool.disconnect()  # a pool passed in is not closed by the client


@dataclass(slots=True)
class Metering:
    """The metrics collector (adapters/telemetry): it meters call outcomes (``sink``, a ``CallSink``) and
    renders them for ``GET /metrics`` (``exposition``, a ``MetricsExposition``); one object, two ports.
    ``collector`` is None when metrics are off."""

    collector: Any

    @property
    def sink(self) -> Any:
        return self.collector

    @property
    def exposition(self) -> Any:
        return self.collector

    async def aclose(self) -> None:
        if self.collector is not None:
            await self.collector.aclose()


@dataclass(slots=True)
class Tracing:
    """The OpenTelemetry span sink (adapters/telemetry/otel_spans.py), or None when off; closing it
    exports what is queued."""

    sink: Any

    async def aclose(self) -> None:
        if self.sink is not None:
            await self.sink.aclose()
