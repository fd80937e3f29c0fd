"""``chat``: ``POST /v1/chat {"message": "hello there"}`` at fixed concurrency levels.

For each level: a warm-up (default 100 requests, not measured), then a fixed number of requests (default
500 at concurrency 1, 2000 otherwise) stopped early by a time cap (default 30 s). Every request starts a
new conversation (no ``conversation_id``), so each one stores a user and an assistant message: persistence
is on (SQLite under the temporary var dir by default, ``--store postgres|redis`` otherwise). Reports
requests/s (200 responses / wall time), p50/p99 latency of 200 responses, errors (non-200 or transport
failure), and the CPU seconds the service and this client used during the measured phase.
"""

from __future__ import annotations

import asyncio
import collections
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from ops.bench import harness, procfs, results, stores
from ops.bench.stats import ms, percentile, table

MESSAGE = "hello there"
REQUEST_TIMEOUT_S = 30.0


def default_requests(concurrency: int) -> int:
    return 500 if concurrency == 1 else 2000


async def _drive(
    session: aiohttp.ClientSession, url: str, body: bytes, count: int, concurrency: int, max_s: float
) -> tuple[list[float], collections.Counter[str], float, bool]:
    """``count`` requests from ``concurrency`` workers, no new request after ``max_s``."""
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    issued = 0
    started = time.perf_counter()
    deadline = started + max_s
    headers = {**harness.AUTH_HEADER, "Content-Type": "application/json"}

    async def worker() -> None:
        nonlocal issued
        while issued < count and time.perf_counter() < deadline:
            issued += 1
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] += 1
                continue
            if status == 200:
                latencies.append(time.perf_counter() - t0)
            else:
                errors[str(status)] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started, issued < count


async def _levels(
    service: harness.Service, levels: list[int], requests: int | None, max_s: float, warmup: int
) -> list[dict[str, Any]]:
    url = f"{service.url}/v1/chat"
    body = msgspec.json.encode({"message": MESSAGE})
    rows = []
    for level in levels:
        count = requests or default_requests(level)
        connector = aiohttp.TCPConnector(limit=level, limit_per_host=level)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            if warmup:
                await _drive(session, url, body, warmup, level, max_s)
            server_cpu, client_cpu = procfs.cpu_seconds(service.pid), procfs.self_cpu_seconds()
            latencies, errors, seconds, capped = await _drive(session, url, body, count, level, max_s)
            server_cpu = procfs.cpu_seconds(service.pid) - server_cpu
            client_cpu = procfs.self_cpu_seconds() - client_cpu
        latencies.sort()
        ok = len(latencies)
        rows.append(
            {
                "concurrency": level,
                "requested": count,
                "ok": ok,
                "errors": sum(errors.values()),
                "error_kinds": dict(errors),
                "seconds": round(seconds, 3),
                "time_capped": capped,
                "rps": round(ok / seconds, 1) if seconds else 0.0,
                "p50_ms": ms(percentile(latencies, 0.50)),
                "p99_ms": ms(percentile(latencies, 0.99)),
                "mean_ms": ms(sum(latencies) / ok) if ok else float("nan"),
                "server_cpu_s": round(server_cpu, 2),
                "client_cpu_s": round(client_cpu, 2),
                "rss_mib": round(procfs.rss_mib(service.pid), 1),
            }
        )
        r = rows[-1]
        print(
            f"  c={level}: {r['ok']} ok, {r['errors']} errors in {r['seconds']:.1f} s"
            + (" (time cap)" if capped else ""),
            flush=True,
        )
    return rows


def run(
    levels: list[int] | None = None,
    requests: int | None = None,
    max_seconds: float = 30.0,
    warmup: int = 100,
    store: str = "sqlite",
) -> dict[str, Any]:
    levels = levels or [1, 32]
    name = "chat" if store == "sqlite" else f"chat-{store}"
    params = {
        "levels": levels,
        "requests": {str(c): requests or default_requests(c) for c in levels},
        "max_seconds": max_seconds,
        "warmup": warmup,
        "store": store,
        "message": MESSAGE,
    }
    print(
        f"{name}: POST /v1/chat, store {store}, concurrency {levels}, warm-up {warmup}, cap {max_seconds:g} s"
    )
    try:
        extra = stores.prepare(store)
    except stores.Skip as skip:
        print(f"skipped: {skip}")
        payload: dict[str, Any] = {"params": params, "skipped": str(skip), "levels": []}
        results.write(name, payload)
        return payload
    try:
        with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
            env = harness.service_env(Path(tmp) / "var", extra)
            with harness.running(Path(tmp) / "service", env) as service:
                rows = asyncio.run(_levels(service, levels, requests, max_seconds, warmup))
    finally:
        stores.cleanup(store)
    print(
        table(
            ["store", "conc", "ok", "errors", "secs", "req/s", "p50 ms", "p99 ms", "srv cpu s", "cli cpu s"],
            [
                [
                    store,
                    r["concurrency"],
                    r["ok"],
                    r["errors"],
                    f"{r['seconds']:.2f}",
                    r["rps"],
                    r["p50_ms"],
                    r["p99_ms"],
                    r["server_cpu_s"],
                    r["client_cpu_s"],
                ]
                for r in rows
            ],
        )
    )
    print("note: " + results.CPU_NOTE.format(cpus=results.machine()["cpus"]))
    payload = {"params": params, "levels": rows}
    results.write(name, payload)
    return payload
