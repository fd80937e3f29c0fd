"""Run the schema migrations from code: the same Alembic scripts serve SQLite and Postgres.

``await upgrade(url)`` brings a database to ``head`` (a no-op when it is there already) and is what the
composition root calls at startup; ``current(url)`` tells which revision a database is at. Alembic is
configured in code, so it never loads an ini file nor touches the application's logging.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.persistence.engine import store_errors

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
_PG_MIGRATION_LOCK = 0x5B0001
"""Advisory lock key: several instances starting together migrate one after the other."""


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations (no ini file)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head() -> str:
    """The newest revision of the packaged migrations (Alembic's own answer; loads every script)."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:  # pragma: no cover - the package always ships at least one revision
        raise RuntimeError("no migrations found")
    return revision


_REVISION = re.compile(r'^(down_revision|revision)(?:: [^=]+)? = (?:"([^"]*)"|None)', re.MULTILINE)


def quick_head() -> str | None:
    """The head read from the scripts' text, without importing them (Alembic's way takes ~0.5 s here,
    on every start). None when the scripts do not form one simple chain; then ``head()`` decides.
    tests/integration/test_migrations.py checks it agrees with ``head()``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = {m.group(1): m.group(2) for m in _REVISION.finditer(script.read_text())}
        if "revision" not in fields:
            continue
        revisions.add(fields["revision"])
        if fields.get("down_revision"):
            parents.add(fields["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _upgrade_sync(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    target = (quick_head() or head()) if revision == "head" else revision
    if _stamped_revision(connection) == target:
        return  # already there: no need to import Alembic and load its scripts (startup time)
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _stamped_revision(connection: Connection) -> str | None:
    """The single revision in the version table (None: no table, or not exactly one row)."""
    if not sa_inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def _current_sync(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` (an async SQLAlchemy URL) up to ``revision``, in one transaction
    where the backend allows it. Raises ``StoreUnavailable`` when the database cannot be reached."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        with store_errors():
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade_sync, revision)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (None: never migrated)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        with store_errors():
            async with engine.connect() as connection:
                return await connection.run_sync(_current_sync)
    finally:
        await engine.dispose()


def current(url: str) -> str | None:
    """Synchronous ``current_revision`` for CLIs; must not be called from a running event loop."""
    return asyncio.run(current_revision(url))
