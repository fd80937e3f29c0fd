"""Backends for the ``RateLimiter`` conformance suite: memory, and Redis on the test server.

``redis_url`` (tests/conftest.py) skips Redis tests when the server is absent, unless ``REQUIRE_SERVICES=1``;
``redis_client`` (tests/conformance/conftest.py) gives each test its own key prefix and deletes its keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.limits.memory_limiter import MemoryRateLimiter
from adapters.limits.redis_limiter import RedisRateLimiter
from contracts.ports import RateLimiter

LIMITER_BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.services)]


@pytest.fixture(params=LIMITER_BACKENDS)
def limiter(request: pytest.FixtureRequest) -> RateLimiter:
    """Every ``RateLimiter`` adapter, each with no counts yet."""
    if request.param == "memory":
        return MemoryRateLimiter()
    client, prefix = request.getfixturevalue("redis_client")
    return RedisRateLimiter(client, prefix=prefix)


@pytest.fixture
async def other_redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    """A second, independent connection pool to the test Redis (as another instance would have)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def closed_port_client() -> AsyncIterator[redis.Redis]:
    """A client of a port nobody listens on, failing fast (no retries)."""
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    yield client
    await client.aclose()
