"""``SqlRunner``: a function runs in one transaction (committed, or rolled back when it raises), a read never
commits, and the SQLite runner runs everything on one thread, one function at a time, in arrival order."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Connection, Table, insert, text
from sqlalchemy.exc import IntegrityError

from adapters.persistence.migrate import upgrade
from adapters.persistence.models import ConversationRow
from adapters.persistence.sql_runner import SqliteThreadRunner, SqlRunner, create_runner, execute
from contracts.errors import StoreUnavailable

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        postgres_url: str = request.getfixturevalue("postgres_url")
        return postgres_url
    return f"sqlite+aiosqlite:///{tmp_path / 'runner.db'}"


@pytest.fixture
async def runner(url: str) -> AsyncIterator[SqlRunner]:
    await upgrade(url)
    runner = create_runner(url)
    await runner.transaction(execute, text("DELETE FROM conversations"))  # items go with them (cascade)
    yield runner
    await runner.aclose()


def _add(conn: Connection, conversation_id: str) -> None:
    conn.execute(
        insert(cast(Table, ConversationRow.__table__)).values(
            tenant_id="t", id=conversation_id, created_at=NOW, updated_at=NOW, item_count=0
        )
    )


def _ids(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT id FROM conversations ORDER BY id")).scalars())


def _add_then_fail(conn: Connection, conversation_id: str) -> None:
    _add(conn, conversation_id)
    _add(conn, conversation_id)  # the primary key again


async def test_a_transaction_commits_when_its_function_returns(runner: SqlRunner) -> None:
    await runner.transaction(_add, "c1")
    assert await runner.read(_ids) == ["c1"]


async def test_a_failing_function_rolls_back_everything_and_its_error_reaches_the_caller(
    runner: SqlRunner,
) -> None:
    with pytest.raises(IntegrityError):
        await runner.transaction(_add_then_fail, "c1")
    assert await runner.read(_ids) == []
    await runner.transaction(_add, "c2")  # the connection is usable afterwards
    assert await runner.read(_ids) == ["c2"]


async def test_a_read_never_commits(runner: SqlRunner) -> None:
    await runner.read(_add, "c1")
    assert await runner.read(_ids) == []


# -- the SQLite thread ------------------------------------------------------------------------------------


@pytest.fixture
async def sqlite_runner(tmp_path: Path) -> AsyncIterator[SqliteThreadRunner]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'runner.db'}"
    await upgrade(url)
    runner = SqliteThreadRunner(url, queue_timeout=0.2)
    yield runner
    await runner.aclose()


async def test_sqlite_functions_run_on_one_thread_one_at_a_time_in_arrival_order(
    sqlite_runner: SqliteThreadRunner,
) -> None:
    threads: set[int] = set()
    running = [0]
    order: list[int] = []

    def body(conn: Connection, n: int) -> int:
        running[0] += 1
        assert running[0] == 1, "two functions ran at once"
        threads.add(threading.get_ident())
        _add(conn, f"c{n:02}")
        order.append(n)
        running[0] -= 1
        return n

    results = await asyncio.gather(*(sqlite_runner.transaction(body, n) for n in range(20)))

    assert results == list(range(20))
    assert order == list(range(20))
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert len(await sqlite_runner.read(_ids)) == 20


async def test_sqlite_function_that_waited_too_long_is_not_run_and_is_unavailable(
    sqlite_runner: SqliteThreadRunner,
) -> None:
    def slow(conn: Connection) -> None:
        time.sleep(0.4)

    first = asyncio.ensure_future(sqlite_runner.transaction(slow))
    await asyncio.sleep(0.02)
    with pytest.raises(StoreUnavailable, match=r"^database unavailable \(TimeoutError\)$"):
        await sqlite_runner.transaction(_add, "late")
    await first
    assert await sqlite_runner.read(_ids) == []


async def test_sqlite_function_whose_caller_was_cancelled_before_it_started_is_not_run(
    sqlite_runner: SqliteThreadRunner,
) -> None:
    def slow(conn: Connection) -> None:
        time.sleep(0.1)

    first = asyncio.ensure_future(sqlite_runner.transaction(slow))
    second = asyncio.ensure_future(sqlite_runner.transaction(_add, "cancelled"))
    await asyncio.sleep(0.02)
    second.cancel()
    await first
    assert await sqlite_runner.read(_ids) == []


async def test_sqlite_connection_invalidated_by_a_failure_is_replaced_on_the_next_call(
    sqlite_runner: SqliteThreadRunner,
) -> None:
    def lose_connection(conn: Connection) -> None:
        conn.invalidate()
        raise OSError("disk gone")

    with pytest.raises(StoreUnavailable):
        await sqlite_runner.transaction(lose_connection)
    await sqlite_runner.transaction(_add, "c1")
    assert await sqlite_runner.read(_ids) == ["c1"]


async def test_sqlite_close_ends_the_thread_and_later_calls_are_unavailable(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    runner = SqliteThreadRunner(f"sqlite+aiosqlite:///{tmp_path / 'closing.db'}")
    await runner.ping()
    [thread] = set(threading.enumerate()) - before

    await runner.aclose()
    await runner.aclose()  # twice is harmless

    assert not thread.is_alive()
    with pytest.raises(StoreUnavailable, match="closed"):
        await runner.ping()


async def test_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    runner = SqliteThreadRunner(f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'app.db'}")
    try:
        with pytest.raises(StoreUnavailable, match=r"^database unavailable \(OperationalError\)$"):
            await runner.ping()
    finally:
        await runner.aclose()
