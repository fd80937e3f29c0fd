"""``appends``: the session store alone, in this process: two-item turns appended at fixed concurrency.

Each append starts a new conversation with a user and an assistant message, as a ``POST /v1/chat`` turn
does. ``--store memory`` is the baseline; ``sqlite`` (a temporary file, the default) and ``postgres``
(the benchmark database of ``stores.py``) go through ``SqlAlchemySessionStore`` and the runner the service
uses. Reports wall ms per append (elapsed / appends), this process's CPU ms per append (every thread,
the SQLite one included), and p50/p99 latency of one ``append`` call.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ops.bench import results, stores
from ops.bench.stats import percentile, table

STORES = ("memory", "sqlite", "postgres")
WARMUP = 100


def _turn(n: int) -> list[Any]:
    from contracts.conversations import AssistantMessage, UserMessage

    now = datetime.now(UTC)
    return [
        UserMessage(id=f"u{n}", created_at=now, text="hello there"),
        AssistantMessage(id=f"a{n}", created_at=now, text="Hello! How can I help?", provider="scripted"),
    ]


@asynccontextmanager
async def _store(store: str, tmp: Path) -> AsyncIterator[Any]:
    if store == "memory":
        from adapters.persistence.memory_sessions import MemorySessionStore

        yield MemorySessionStore()
        return
    from adapters.persistence.migrate import upgrade
    from adapters.persistence.sql_runner import create_runner
    from adapters.persistence.sqlalchemy_sessions import SqlAlchemySessionStore

    url = stores.prepare(store).get("DATABASE_URL", f"sqlite+aiosqlite:///{tmp / 'appends.db'}")
    await upgrade(url)
    runner = create_runner(url)
    try:
        yield SqlAlchemySessionStore(runner)
    finally:
        await runner.aclose()
        stores.cleanup(store)


async def _drive(session_store: Any, count: int, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < count:
            issued += 1
            turn = _turn(issued)
            t0 = time.perf_counter()
            await session_store.append("bench", uuid.uuid4().hex, turn)
            latencies.append(time.perf_counter() - t0)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    latencies.sort()
    return {
        "concurrency": concurrency,
        "appends": count,
        "wall_ms_per_append": round(wall / count * 1000, 3),
        "cpu_ms_per_append": round(cpu / count * 1000, 3),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }


async def _levels(store: str, levels: list[int], count: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-appends-") as tmp:
        async with _store(store, Path(tmp)) as session_store:
            await _drive(session_store, WARMUP, 1)
            return [await _drive(session_store, count, level) for level in levels]


def run(levels: list[int], count: int, store_names: list[str]) -> dict[str, Any]:
    print(f"appends: {count} two-item turns per level, concurrency {levels}, stores {store_names}")
    rows: list[dict[str, Any]] = []
    for store in store_names:
        try:
            rows += [{"store": store, **row} for row in asyncio.run(_levels(store, levels, count))]
        except stores.Skip as skip:
            print(f"{store} skipped: {skip}")
    print(
        table(
            ["store", "conc", "appends", "wall ms/append", "cpu ms/append", "p50 ms", "p99 ms"],
            [
                [
                    r["store"],
                    r["concurrency"],
                    r["appends"],
                    f"{r['wall_ms_per_append']:.3f}",
                    f"{r['cpu_ms_per_append']:.3f}",
                    f"{r['p50_ms']:.3f}",
                    f"{r['p99_ms']:.3f}",
                ]
                for r in rows
            ],
        )
    )
    payload = {"params": {"levels": levels, "count": count, "stores": store_names}, "levels": rows}
    results.write("appends", payload)
    return payload
