"""The packaged migrations build exactly the models' schema, on SQLite and on Postgres."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence.migrate import VERSION_TABLE, current, current_revision, head, upgrade
from adapters.persistence.models import metadata


def _differences(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _check(url: str) -> None:
    assert await current_revision(url) is None
    await upgrade(url)
    await upgrade(url)  # a second run is a no-op
    assert await current_revision(url) == head()

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            tables = await connection.run_sync(_tables)
    finally:
        await engine.dispose()
    assert tables == {*metadata.tables, VERSION_TABLE}


async def test_sqlite_upgrade_matches_models(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")


def test_current_is_usable_without_an_event_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    assert current(url) is None


@pytest.fixture
async def empty_postgres_url(postgres_url: str) -> AsyncIterator[str]:
    """A database of its own (the session database may already be migrated by other suites)."""
    import asyncpg

    base = make_url(postgres_url)
    name = f"switchboard_mig_{secrets.token_hex(4)}"
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.mark.services
async def test_postgres_upgrade_matches_models(empty_postgres_url: str) -> None:
    await _check(empty_postgres_url)


def test_the_quick_head_read_from_the_scripts_agrees_with_alembic() -> None:
    from adapters.persistence.migrate import head, quick_head

    assert quick_head() == head()
