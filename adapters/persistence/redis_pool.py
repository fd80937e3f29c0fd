"""A Redis connection pool that forgets every idle connection as soon as one of them is found dead.

After a Redis restart, every pooled connection is a dead socket. redis-py discovers that one connection at
a time, when it is next used (and, with a LIFO pool, rarely used ones stay at the bottom for a long time):
one 503 per stale connection, scattered over seconds. Here the first connection that comes back from a
failed command (it is no longer connected) makes the pool disconnect all its idle connections too, so
they reconnect on their next use and the outage ends with the first failure.
"""

from __future__ import annotations

import structlog
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import AbstractConnection

log = structlog.get_logger("switchboard.redis")


class ReconnectingPool(BlockingConnectionPool):
    async def release(self, connection: AbstractConnection) -> None:
        failed = not connection.is_connected
        await super().release(connection)
        if failed:
            idle = [c for c in self._available_connections if c is not connection and c.is_connected]
            for stale in idle:
                await stale.disconnect()
            if idle:
                log.warning("redis.pool_reset", idle_disconnected=len(idle))
