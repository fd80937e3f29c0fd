"""What hostile connections cost, with uvicorn's stock httptools protocol and with ours (docs/security.md).

``python -m ops.bench connections``: for each protocol, a live server on the embedded defaults and:

- a 64 MB header: seconds until the server answers or closes;
- 300 idle connections and 50 slowloris clients (one header byte every 0.2 s) held open while 50
  authenticated ``GET /v1/agents`` requests are timed (p50, max), and how many of the hostile connections
  the server had closed after ``HOLD_S``.

Loopback only, bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

KEY = "bench-key"
HOLD_S = 11.0
"""Longer than the default header timeout (10 s), so slow clients are due to be closed."""


async def _serve(protocol: str | None) -> tuple[Any, asyncio.Task[None], int]:
    import uvicorn

    from backend.app import create_app
    from backend.serving.options import uvicorn_options
    from backend.settings import load_settings

    root = Path(tempfile.mkdtemp(prefix="sb-bench-conn-"))
    settings = load_settings(
        {
            "SWITCHBOARD_ENV": "test",
            "SWITCHBOARD_VAR_DIR": str(root / "var"),
            "SWITCHBOARD_API_KEYS": f"{KEY}:bench:chat",
            "SWITCHBOARD_LOG_LEVEL": "ERROR",
            "SWITCHBOARD_LOG_FORMAT": "json",
            "SWITCHBOARD_MAX_UNAUTHENTICATED": "1000",
        },
        dotenv=None,
    )
    options = uvicorn_options(settings.server)
    if protocol is not None:
        options["http"] = protocol
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, **options))
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.02)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


async def _huge_header(port: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.perf_counter()
    writer.write(b"GET /health/live HTTP/1.1\r\nhost: x\r\nx-big: ")
    chunk = b"a" * 1_048_576
    with contextlib.suppress(ConnectionError, OSError):
        for _ in range(64):
            writer.write(chunk)
            await writer.drain()
            if reader.at_eof():
                break
        writer.write(b"\r\n\r\n")
        await writer.drain()
    with contextlib.suppress(TimeoutError, ConnectionError, OSError):
        await asyncio.wait_for(reader.read(100), timeout=30)
    writer.close()
    return time.perf_counter() - start


async def _slowloris(port: int, stop: asyncio.Event) -> bool:
    """True when the server answered or closed the connection before ``stop``."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answered = asyncio.ensure_future(reader.read(1))
        writer.write(b"GET /health/live HTTP/1.1\r\nhost: x\r\n")
        while not stop.is_set() and not answered.done():
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)
        closed = answered.done()
        answered.cancel()
        writer.close()
        return closed
    except (ConnectionError, OSError):
        return True


async def _idle(port: int, stop: asyncio.Event) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    with contextlib.suppress(TimeoutError, ConnectionError, OSError):
        done = asyncio.ensure_future(stop.wait())
        data = asyncio.ensure_future(reader.read(1))
        finished, _ = await asyncio.wait({done, data}, return_when=asyncio.FIRST_COMPLETED)
        closed = data in finished
        done.cancel()
        data.cancel()
        writer.close()
        return closed
    return True


async def _measure(protocol: str | None) -> dict[str, float]:
    import httpx

    server, task, port = await _serve(protocol)
    try:
        header_s = await _huge_header(port)
        stop = asyncio.Event()
        hostile = [asyncio.create_task(_idle(port, stop)) for _ in range(300)]
        hostile += [asyncio.create_task(_slowloris(port, stop)) for _ in range(50)]
        await asyncio.sleep(0.5)
        latencies = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for _ in range(50):
                start = time.perf_counter()
                (await http.get("/v1/agents", headers={"Authorization": f"Bearer {KEY}"})).raise_for_status()
                latencies.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(HOLD_S)
        stop.set()
        closed = sum(await asyncio.gather(*hostile))
    finally:
        server.should_exit = True
        server.force_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=15)
    return {
        "header_s": header_s,
        "p50": statistics.median(latencies),
        "max": max(latencies),
        "closed": closed,
    }


def run() -> None:
    rows = {
        "uvicorn httptools (stock)": asyncio.run(_measure("httptools")),
        "GuardedHttpToolsProtocol": asyncio.run(_measure(None)),
    }
    print(
        "hostile connections: 64 MB header; then 300 idle + 50 slowloris connections held while 50 requests run"
    )
    print(
        f"{'protocol':<28} {'64 MB header s':>15} {'req p50 ms':>11} {'req max ms':>11} {'hostile closed':>15}"
    )
    for label, r in rows.items():
        print(
            f"{label:<28} {r['header_s']:>15.2f} {r['p50']:>11.1f} {r['max']:>11.1f} {int(r['closed']):>11}/350"
        )
