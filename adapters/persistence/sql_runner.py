"""``SqlRunner``: where a SQL store's transaction runs, one hop per transaction.

The SQL stores write each transaction body as a plain synchronous function over a SQLAlchemy Core
``Connection`` (``fn(conn, *args) -> result``) and hand it to a runner:

- ``AsyncEngineRunner`` (PostgreSQL, asyncpg): ``async with engine.begin()`` then ``conn.run_sync(fn)``,
  SQLAlchemy's greenlet bridge. The pool, pre-ping and pool timeout are the async engine's own.
- ``SqliteThreadRunner`` (SQLite): a synchronous pysqlite engine used only from ONE dedicated thread. Each
  function runs there whole: one thread hop per transaction, where aiosqlite paid several per statement
  (cursor, execute, fetch, close). One thread and one connection: transactions queue in FIFO order and
  never sleep in SQLite's busy handler.

Both map failures the same way (``store_errors``): connection and pool failures become ``StoreUnavailable``
naming only the store; anything else (an ``IntegrityError``) reaches the store as raised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar, TypeVarTuple

import sqlalchemy
import sqlalchemy.exc as sa_exc
from sqlalchemy import Executable, Row, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from adapters.persistence.engine import create_engine, ping, sqlite_pragmas, store_errors
from contracts.errors import StoreUnavailable

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

SQLITE_QUEUE_TIMEOUT_S = 30.0
"""How long a transaction may wait for the SQLite thread before failing as unavailable (as the single
connection's pool timeout did)."""


class SqlRunner(Protocol):
    """Runs synchronous Core functions on the database, each in one go."""

    async def transaction(self, fn: Callable[[Connection, *Ts], T], /, *args: *Ts) -> T:
        """``fn(conn, *args)`` in one transaction, committed when it returns, rolled back if it raises."""
        ...

    async def read(self, fn: Callable[[Connection, *Ts], T], /, *args: *Ts) -> T:
        """``fn(conn, *args)`` on a connection whose transaction is rolled back afterwards (queries)."""
        ...

    async def ping(self) -> None:
        """``SELECT 1``; raises ``StoreUnavailable`` when the database cannot be reached."""
        ...

    async def aclose(self) -> None:
        """Close the pool; on SQLite the thread too, after which calls raise ``StoreUnavailable``."""
        ...


def create_runner(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5.0,
    echo: bool = False,
) -> SqlRunner:
    """The runner for ``sqlite+aiosqlite:///path`` (a thread; the URL's async driver is swapped for
    pysqlite) or ``postgresql+asyncpg://...`` (the async engine of ``engine.create_engine``)."""
    if make_url(url).get_backend_name() == "sqlite":
        return SqliteThreadRunner(url, queue_timeout=max(pool_timeout, SQLITE_QUEUE_TIMEOUT_S), echo=echo)
    return AsyncEngineRunner(
        create_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout, echo=echo
        )
    )


class AsyncEngineRunner:
    """Each function runs in a greenlet on a pooled async connection (``AsyncConnection.run_sync``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def transaction(self, fn: Callable[[Connection, *Ts], T], /, *args: *Ts) -> T:
        with store_errors():
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn, *args)

    async def read(self, fn: Callable[[Connection, *Ts], T], /, *args: *Ts) -> T:
        with store_errors():
            async with self.engine.connect() as conn:
                return await conn.run_sync(fn, *args)

    async def ping(self) -> None:
        await ping(self.engine)

    async def aclose(self) -> None:
        await self.engine.dispose()


_Body = Callable[[float, Callable[..., T], tuple[Any, ...]], T]
"""``_in_transaction`` or ``_on_connection``: what the thread runs for one call."""


class SqliteThreadRunner:
    """A synchronous SQLite engine, used from one thread only; each function is one hop to that thread.

    Same pragmas as the async engine (WAL, busy timeout, foreign keys, ``synchronous=NORMAL``). The thread
    keeps its one connection checked out (a pool checkout and reset per call cost ~0.2 ms of CPU); an
    invalidated connection reconnects on its next use. A function that waited longer than
    ``queue_timeout`` for the thread is not run and fails as ``StoreUnavailable``; one whose caller was
    cancelled before it started is not run either, and one that started runs to its end (a caller cancelled
    meanwhile does not roll it back). Group commit (``group_commit.py``) still batches concurrent appends
    into one function call.
    """

    def __init__(
        self, url: str | URL, *, queue_timeout: float = SQLITE_QUEUE_TIMEOUT_S, echo: bool = False
    ) -> None:
        parsed = make_url(url).set(drivername="sqlite+pysqlite")
        pool: dict[str, Any] = (
            {"poolclass": StaticPool}  # one shared in-memory database
            if parsed.database in (None, "", ":memory:")
            else {"pool_size": 1, "max_overflow": 0}
        )
        # SQL parameters are prompt text: never in an exception's message or a log line
        self.engine = sqlalchemy.create_engine(parsed, echo=echo, hide_parameters=True, **pool)
        event.listen(self.engine, "connect", sqlite_pragmas)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._queue_timeout = queue_timeout
        self._closed = False
        self._conn: Connection | None = None
        """Opened, used and closed on the thread only."""

    async def transaction(self, fn: Callable[[Connection, *Ts], T], /, *args: *Ts) -> T:
        return await self._submit(self._in_transaction, fn, args)

    async def read(self, fn: Callable[[Connection, *Ts], T], /, *args: *Ts) -> T:
        return await self._submit(self._on_connection, fn, args)

    async def ping(self) -> None:
        await self.read(_select_one)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:  # after whatever is queued already
            await asyncio.get_running_loop().run_in_executor(self._executor, self._dispose)
        finally:
            self._executor.shutdown(wait=True)  # the thread is idle by now: it exits at once

    async def _submit(self, run: _Body[T], fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """One hop: ``run(deadline, fn, args)`` on the thread, awaited here."""
        if self._closed:
            raise StoreUnavailable("database unavailable (closed)")
        deadline = time.monotonic() + self._queue_timeout
        with store_errors():
            return await asyncio.get_running_loop().run_in_executor(self._executor, run, deadline, fn, args)

    def _in_transaction(self, deadline: float, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        _check_wait(deadline)
        conn = self._connection()
        with conn.begin():
            return fn(conn, *args)

    def _on_connection(self, deadline: float, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        _check_wait(deadline)
        conn = self._connection()
        try:
            return fn(conn, *args)
        finally:
            conn.rollback()

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
        return self._conn

    def _dispose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()


def _check_wait(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise sa_exc.TimeoutError("waited too long for the SQLite thread")


def _select_one(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))


# -- one-statement bodies, shared by the stores ----------------------------------------------------------


def all_rows(conn: Connection, statement: Executable) -> list[Row[Any]]:
    """Every row of a query."""
    return list(conn.execute(statement).all())


def one_row(conn: Connection, statement: Executable) -> Row[Any] | None:
    """The row of a query that matches at most one."""
    return conn.execute(statement).one_or_none()


def scalars(conn: Connection, statement: Executable) -> list[Any]:
    """The first column of every row."""
    return list(conn.execute(statement).scalars().all())


def execute(conn: Connection, statement: Executable, params: Any = None) -> None:
    """A statement (with a list of parameter sets: executemany)."""
    conn.execute(statement, params)


def rowcount(conn: Connection, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE matched."""
    return conn.execute(statement).rowcount
