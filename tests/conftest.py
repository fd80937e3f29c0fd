"""Service availability for tests that need real PostgreSQL and Redis (``@pytest.mark.services``).

A server that cannot be reached skips those tests, unless ``REQUIRE_SERVICES=1`` (CI) makes it a failure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL, make_url

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def _unavailable(message: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: URL, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty database ``switchboard_test_<hex>`` on the test server, dropped at the end.

    The server comes from ``TEST_POSTGRES_URL`` (default: ``postgres@127.0.0.1:5432/test``, asyncpg).
    """
    base = make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    name = f"switchboard_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, ConnectionError) as exc:
        _unavailable(
            f"PostgreSQL not reachable at {base.render_as_string(hide_password=True)} "
            f"({type(exc).__name__}); start it or set TEST_POSTGRES_URL (CI sets REQUIRE_SERVICES=1)"
        )
    yield base.set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the test Redis (``TEST_REDIS_URL``, default db 15). Tests share it: each one must use its
    own key prefix and delete its keys (never FLUSHDB)."""
    import redis.asyncio as redis
    import redis.exceptions as redis_exc

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)

    async def ping() -> None:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except (redis_exc.ConnectionError, redis_exc.TimeoutError, OSError) as exc:
        _unavailable(
            f"Redis not reachable at {_safe_url(url)} ({type(exc).__name__}); start it or set "
            "TEST_REDIS_URL (CI sets REQUIRE_SERVICES=1)"
        )
    return url


def _safe_url(url: str) -> str:
    """``url`` without its password (for messages)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
