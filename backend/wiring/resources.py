"""Long-lived resources shared by several adapters: one engine (pool) and one Redis client per process.

They are graph nodes of their own so that each is created once, pinged for readiness and closed on
shutdown, whichever adapters use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Database:
    """The SQLAlchemy async engine and its session factory."""

    engine: Any
    session_factory: Any

    async def ping(self) -> None:
        from adapters.persistence.engine import ping

        await ping(self.engine)

    async def aclose(self) -> None:
        await self.engine.dispose()


@dataclass(slots=True)
class RedisClient:
    """A pooled ``redis.asyncio.Redis`` client."""

    client: Any

    async def ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.client.connection_pool.disconnect()  # a pool passed in is not closed by the client
