"""Every query on the request path is served by an index: checked on the real plans, SQLite and PostgreSQL.

PostgreSQL would seq-scan tables this small whatever the indexes, so the check turns seq scans off: the
plan must then use an index (with an index missing it still seq-scans, at a huge cost estimate).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from adapters.persistence.engine import create_engine
from adapters.persistence.migrate import upgrade

REQUEST_PATH_QUERIES = {
    "list conversations (first page)": (
        "SELECT * FROM conversations WHERE tenant_id = 't' ORDER BY updated_at DESC, id DESC LIMIT 21"
    ),
    "list conversations (after a cursor)": (
        "SELECT * FROM conversations WHERE tenant_id = 't' AND (updated_at < '2026-01-01' OR "
        "(updated_at = '2026-01-01' AND id < 'x')) ORDER BY updated_at DESC, id DESC LIMIT 21"
    ),
    "get a conversation": "SELECT * FROM conversations WHERE tenant_id = 't' AND id = 'c'",
    "load newest items": (
        "SELECT payload FROM conversation_items WHERE tenant_id = 't' AND conversation_id = 'c' "
        "ORDER BY seq DESC LIMIT 50"
    ),
    "read a policy override": "SELECT body FROM guardrail_policies WHERE tenant_id = 't' AND name = 'default'",
    "authenticate a stored key": "SELECT * FROM api_keys WHERE secret_sha256 = 'abc'",
    "usage since a day": "SELECT * FROM usage_records WHERE tenant_id = 't' AND created_at >= '2026-01-01'",
}


@pytest.mark.parametrize("query", list(REQUEST_PATH_QUERIES), ids=list(REQUEST_PATH_QUERIES))
async def test_sqlite_plans_use_an_index(tmp_path: object, query: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/plans.db"
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            plan = " | ".join(
                str(row[-1])
                for row in await conn.execute(text("EXPLAIN QUERY PLAN " + REQUEST_PATH_QUERIES[query]))
            )
    finally:
        await engine.dispose()
    assert ("USING" in plan and "INDEX" in plan) or "PRIMARY KEY" in plan, plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan


@pytest.mark.services
@pytest.mark.parametrize("query", list(REQUEST_PATH_QUERIES), ids=list(REQUEST_PATH_QUERIES))
async def test_postgres_plans_use_an_index(postgres_url: str, query: str) -> None:
    await upgrade(postgres_url)  # a no-op when another test migrated this database already
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(
                row[0] for row in await conn.execute(text("EXPLAIN " + REQUEST_PATH_QUERIES[query]))
            )
    finally:
        await engine.dispose()
    assert "Index" in plan, plan
    assert "Seq Scan" not in plan, plan
