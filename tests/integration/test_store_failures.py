"""Unreachable stores surface as ``StoreUnavailable``, whose message never reveals the URL or password;
and the embedded SQLite engine is configured for concurrent use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis.asyncio as redis
from sqlalchemy import text

from adapters.persistence.engine import create_engine, ping, session_factory
from adapters.persistence.migrate import upgrade
from adapters.persistence.redis_sessions import RedisSessionStore
from adapters.persistence.sqlalchemy_sessions import SqlAlchemySessionStore
from contracts.errors import StoreUnavailable

PASSWORD = "hunter2-secret"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_postgres_is_store_unavailable_without_secrets() -> None:
    url = f"postgresql+asyncpg://admin:{PASSWORD}@127.0.0.1:{_closed_port()}/db"
    engine = create_engine(url, pool_timeout=1)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await ping(engine)
        with pytest.raises(StoreUnavailable):
            await SqlAlchemySessionStore(session_factory(engine)).get("t1", "c1")
    finally:
        await engine.dispose()
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


async def test_sqlite_engine_uses_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    try:
        await ping(engine)
        async with engine.connect() as conn:
            journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
            foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
    finally:
        await engine.dispose()
    assert (journal, busy, foreign_keys) == ("wal", 5000, 1)


async def test_in_memory_sqlite_engine_works() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        await ping(engine)
    finally:
        await engine.dispose()
