"""Backends for the ``StreamLog`` conformance suite: memory, and Redis Streams on the test server.

Each backend gives a writer and a reader log. For Redis they are two ``RedisStreamLog`` instances on two
connection pools sharing one prefix (two service instances); for memory both are the same object.
``redis_client`` (tests/conformance/conftest.py) gives each test its own key prefix and deletes its keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.streams.memory_stream_log import MemoryStreamLog
from adapters.streams.redis_stream_log import RedisStreamLog
from tests.conformance.streams.backends import StreamLogs

STREAM_BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.services)]
BLOCK_MS = 100
"""Short blocking reads so that a follower notices an expired stream quickly."""


@pytest.fixture
async def other_redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    """A second, independent connection pool to the test Redis (as another instance would have)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(params=STREAM_BACKENDS)
def logs(request: pytest.FixtureRequest) -> StreamLogs:
    """Every ``StreamLog`` adapter, empty."""
    if request.param == "memory":
        log = MemoryStreamLog()
        return StreamLogs(name="memory", writer=log, reader=log)
    client, prefix = request.getfixturevalue("redis_client")
    other: redis.Redis = request.getfixturevalue("other_redis_client")
    return StreamLogs(
        name="redis",
        writer=RedisStreamLog(client, prefix=prefix, block_ms=BLOCK_MS),
        reader=RedisStreamLog(other, prefix=prefix, block_ms=BLOCK_MS),
    )


@pytest.fixture
async def closed_port_client() -> AsyncIterator[redis.Redis]:
    """A client of a port nobody listens on, failing fast (no retries)."""
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    yield client
    await client.aclose()
