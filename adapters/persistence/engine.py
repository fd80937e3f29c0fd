"""The async engine (PostgreSQL; SQLite for tools), SQLite pragmas, and the mapping of connection failures to
``StoreUnavailable``. The stores reach the database through ``sql_runner.py``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy.exc as sa_exc
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from contracts.errors import StoreUnavailable

SQLITE_BUSY_TIMEOUT_MS = 5000


BASE_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    OSError,
)


def connection_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning "the database cannot serve us right now" (down, unreachable, pool exhausted).

    asyncpg's own classes are added only once asyncpg has been imported (by the PostgreSQL engine): before
    that none of them can have been raised, and importing asyncpg just to name them cost ~50 ms of every
    SQLite start."""
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is None:
        return BASE_CONNECTION_ERRORS
    return (
        *BASE_CONNECTION_ERRORS,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.TooManyConnectionsError,
    )


UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")
"""SQLSTATEs (prefixes) of a server that cannot serve us now: connection exceptions, too many connections,
admin/crash shutdown, "the database system is starting up / shutting down". asyncpg's errors for these reach
us as a plain ``DBAPIError``, not an ``OperationalError``."""


def _is_unavailable(exc: sa_exc.DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or (
        isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES)
    )


@contextmanager
def store_errors(store: str = "database") -> Iterator[None]:
    """Re-raise connection and pool failures as ``StoreUnavailable``.

    The message names only the store and the exception class: never the URL, host or password.
    """
    try:
        yield
    except connection_errors() as exc:
        raise StoreUnavailable(f"{store} unavailable ({type(exc).__name__})") from exc
    except sa_exc.DBAPIError as exc:
        if not _is_unavailable(exc):
            raise
        raise StoreUnavailable(f"{store} unavailable ({type(exc).__name__})") from exc


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL, a busy timeout, foreign keys and ``synchronous=NORMAL`` on each new SQLite connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5.0,
    echo: bool = False,
) -> AsyncEngine:
    """An ``AsyncEngine`` for ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``.

    SQLite connections get WAL, a busy timeout (writers wait instead of failing), and foreign keys on
    (``ON DELETE CASCADE`` needs them). Postgres connections are pre-pinged so a restarted server does
    not hand out dead connections.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            engine = create_async_engine(parsed, echo=echo, hide_parameters=True)  # one shared connection
        else:
            # One connection: SQLite has a single writer, and several connections contending for its
            # lock wait in SQLite's busy handler (sleeps of up to 100 ms: a long latency tail). Queueing
            # for one connection in the pool is fair (FIFO) and keeps p99 close to p50.
            engine = create_async_engine(
                parsed,
                echo=echo,
                hide_parameters=True,
                pool_size=1,
                max_overflow=0,
                pool_timeout=max(pool_timeout, 30.0),
            )
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    return create_async_engine(
        parsed,
        echo=echo,
        hide_parameters=True,  # SQL parameters are prompt text: never in an exception's message or a log
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
    )


SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be used (unparsable, or not a supported async driver); None when it can."""
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        return (
            "not a database URL (e.g. postgresql+asyncpg://user@host:5432/db or sqlite+aiosqlite:///path.db)"
        )
    if parsed.drivername not in SUPPORTED_DRIVERS:
        return f"driver {parsed.drivername!r} is not supported (use {' or '.join(SUPPORTED_DRIVERS)})"
    if parsed.get_backend_name() == "postgresql" and not parsed.host:
        return "a PostgreSQL URL needs a host"
    return None


async def reach_database(url: str) -> None:
    """Open one connection and run ``SELECT 1`` (SQLite: the file's directory must exist or be creatable)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        from pathlib import Path

        if parsed.database not in (None, "", ":memory:"):
            directory = Path(parsed.database).parent
            if directory.exists() and not directory.is_dir():
                raise NotADirectoryError(str(directory))
        return
    engine = create_async_engine(parsed, hide_parameters=True, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def ping(engine: AsyncEngine) -> None:
    """``SELECT 1``; raises ``StoreUnavailable`` when the database cannot be reached."""
    with store_errors():
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
