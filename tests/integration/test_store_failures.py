"""Unreachable stores surface as ``StoreUnavailable``, whose message never reveals the URL or password;
and the embedded SQLite runner's connection is configured for concurrent use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis.asyncio as redis
from sqlalchemy import Connection

from adapters.persistence.migrate import upgrade
from adapters.persistence.redis_sessions import RedisSessionStore
from adapters.persistence.sql_runner import create_runner
from adapters.persistence.sqlalchemy_sessions import SqlAlchemySessionStore
from contracts.errors import StoreUnavailable

PASSWORD = "hunter2-secret"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_postgres_is_store_unavailable_without_secrets() -> None:
    url = f"postgresql+asyncpg://admin:{PASSWORD}@127.0.0.1:{_closed_port()}/db"
    runner = create_runner(url, pool_timeout=1)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await runner.ping()
        with pytest.raises(StoreUnavailable):
            await SqlAlchemySessionStore(runner).get("t1", "c1")
    finally:
        await runner.aclose()
    assert raised.value.retryable
    assert PASSWORD not in str(raised.value)
    assert "127.0.0.1" not in str(raised.value)


async def test_unreachable_postgres_fails_migration_as_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await upgrade(f"postgresql+asyncpg://admin:{PASSWORD}@127.0.0.1:{_closed_port()}/db")
    assert PASSWORD not in str(raised.value)


async def test_unreachable_redis_is_store_unavailable() -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{_closed_port()}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await RedisSessionStore(client).get("t1", "c1")
    finally:
        await client.aclose()
    assert PASSWORD not in str(raised.value)


def _pragmas(conn: Connection) -> tuple[object, ...]:
    return tuple(
        conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
        for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
    )


async def test_sqlite_runner_uses_wal_busy_timeout_foreign_keys_and_normal_sync(tmp_path: Path) -> None:
    runner = create_runner(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    try:
        await runner.ping()
        pragmas = await runner.read(_pragmas)
    finally:
        await runner.aclose()
    assert pragmas == ("wal", 5000, 1, 1)  # synchronous: 1 = NORMAL


async def test_in_memory_sqlite_runner_works() -> None:
    runner = create_runner("sqlite+aiosqlite:///:memory:")
    try:
        await runner.ping()
    finally:
        await runner.aclose()
