"""Backends for the port-conformance suites: memory, SQLite (tmp file), Postgres and Redis.

Each SQL backend is migrated with the packaged migrations (never ``create_all``); Postgres tables are
truncated before each test; each Redis test uses its own key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from sqlalchemy import Row, text

from adapters.persistence.memory_sessions import MemorySessionStore
from adapters.persistence.migrate import upgrade
from adapters.persistence.redis_sessions import RedisSessionStore
from adapters.persistence.sql_runner import SqlRunner, all_rows, create_runner, execute
from contracts.ports import SessionStore

TABLES = ("conversation_items", "conversations", "guardrail_policies", "api_keys", "usage_records")

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.services)]
SESSION_BACKENDS = ["memory", *SQL_BACKENDS, pytest.param("redis", marks=pytest.mark.services)]


@dataclass(slots=True)
class Database:
    """A migrated database for one test, reached through the runner the stores use."""

    runner: SqlRunner

    async def count(self, table: str, **where: str) -> int:
        clause = " AND ".join(f"{column} = :{column}" for column in where) or "1 = 1"
        query = text(f"SELECT count(*) FROM {table} WHERE {clause}").bindparams(**where)
        [row] = await self.runner.read(all_rows, query)
        return int(row[0])

    async def rows(self, sql: str) -> list[Row[Any]]:
        return await self.runner.read(all_rows, text(sql))


@dataclass(slots=True)
class SessionBackend:
    """A session store under test, and a way to count what it keeps for a conversation underneath the
    port (rows for SQL, keys and index entries for Redis)."""

    name: str
    store: SessionStore
    leftovers: Callable[[str, str], Awaitable[int]]


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str) -> str:
    asyncio.run(upgrade(postgres_url))
    return postgres_url


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}"
    await upgrade(url)
    runner = create_runner(url)
    yield Database(runner=runner)
    await runner.aclose()


@pytest.fixture
async def postgres_db(migrated_postgres_url: str) -> AsyncIterator[Database]:
    runner = create_runner(migrated_postgres_url, pool_size=20, max_overflow=10)
    await runner.transaction(execute, text(f"TRUNCATE {', '.join(TABLES)}"))
    yield Database(runner=runner)
    await runner.aclose()


@pytest.fixture(params=SQL_BACKENDS)
def database(request: pytest.FixtureRequest) -> Database:
    """A migrated SQLite or Postgres database."""
    db: Database = request.getfixturevalue(f"{request.param}_db")
    return db


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[tuple[redis.Redis, str]]:
    """A client and a key prefix of this test's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(redis_url)
    prefix = f"sbtest-{secrets.token_hex(6)}"
    yield client, prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def _memory_backend() -> SessionBackend:
    store = MemorySessionStore()

    async def leftovers(tenant_id: str, conversation_id: str) -> int:
        found = await store.get(tenant_id, conversation_id)
        return len(await store.load_items(tenant_id, conversation_id)) + (found is not None)

    return SessionBackend(name="memory", store=store, leftovers=leftovers)


def _sql_backend(name: str, db: Database) -> SessionBackend:
    from adapters.persistence.sqlalchemy_sessions import SqlAlchemySessionStore

    async def leftovers(tenant_id: str, conversation_id: str) -> int:
        return await db.count("conversations", tenant_id=tenant_id, id=conversation_id) + await db.count(
            "conversation_items", tenant_id=tenant_id, conversation_id=conversation_id
        )

    return SessionBackend(name=name, store=SqlAlchemySessionStore(db.runner), leftovers=leftovers)


def _redis_backend(client: redis.Redis, prefix: str) -> SessionBackend:
    async def leftovers(tenant_id: str, conversation_id: str) -> int:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*:{conversation_id}")]
        indexed = await client.zscore(f"{prefix}:{{{tenant_id}}}:convs", conversation_id)
        return len(keys) + (indexed is not None)

    return SessionBackend(name="redis", store=RedisSessionStore(client, prefix=prefix), leftovers=leftovers)


@pytest.fixture(params=SESSION_BACKENDS)
def session_backend(request: pytest.FixtureRequest) -> SessionBackend:
    """Every ``SessionStore`` adapter, each on an empty store."""
    name: str = request.param
    if name == "memory":
        return _memory_backend()
    if name == "redis":
        client, prefix = request.getfixturevalue("redis_client")
        return _redis_backend(client, prefix)
    return _sql_backend(name, request.getfixturevalue(f"{name}_db"))
