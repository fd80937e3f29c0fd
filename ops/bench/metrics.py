"""Micro-benchmark: what metering costs per request, metrics off and on side by side in one run.

``uv run python -m ops.bench.metrics [--requests 2000] [--rounds 5]``

Two apps are built in this process as ``switchboard serve`` builds them (memory store, the offline
``scripted`` provider, no token delay), one with ``SWITCHBOARD_METRICS=false`` and one with ``true``, and
driven through their ASGI callables exactly as ``ops/bench/asgi.py`` drives one (no socket, no HTTP parser:
only the service's own work). Each round measures every row on both apps, alternating which goes first,
so drift on a busy machine hits both alike. Per row: the median over rounds of CPU microseconds per
request, off and on, and the difference. One more row times a scrape of ``GET /metrics`` after the run.
Writes ``var/bench/metrics.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.app import create_app
from ops.bench import results
from ops.bench.asgi import Driver, _measure, _rows, _settings


@dataclass
class Row:
    row: str
    requests: int
    off_cpu_us: float
    on_cpu_us: float
    delta_us: float


async def _start(var: Path, metrics: bool) -> tuple[Driver, Callable[[], Awaitable[None]]]:
    extra = {"SWITCHBOARD_METRICS": "true" if metrics else "false", "SWITCHBOARD_METRICS_AUTH": "none"}
    driver = Driver(create_app(_settings(var, None, extra)))
    return driver, await driver.lifespan()


async def run(requests: int, rounds: int) -> tuple[list[Row], float, int]:
    calls = _rows("scripted")
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-metrics-") as var:
        off, stop_off = await _start(Path(var) / "off", False)
        on, stop_on = await _start(Path(var) / "on", True)
        try:
            measured: dict[str, dict[bool, list[float]]] = {}
            for round_ in range(rounds):
                for name, call in calls.items():
                    order = (off, on) if round_ % 2 == 0 else (on, off)
                    for driver in order:
                        _, cpu = await _measure(driver, call, requests)
                        measured.setdefault(name, {False: [], True: []})[driver is on].append(cpu)
            status, body = await on.request("GET", "/metrics")
            assert status == 200, body[:200]
            start = time.process_time()
            for _ in range(200):
                await on.request("GET", "/metrics")
            scrape_us = (time.process_time() - start) / 200 * 1e6
        finally:
            await stop_on()
            await stop_off()
    rows = []
    for name, by in measured.items():
        off_us, on_us = statistics.median(by[False]), statistics.median(by[True])
        rows.append(Row(name, requests, round(off_us, 1), round(on_us, 1), round(on_us - off_us, 1)))
    return rows, round(scrape_us, 1), len(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.metrics", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per row, app and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be >= 1")
    rows, scrape_us, scrape_bytes = asyncio.run(run(args.requests, args.rounds))
    print(f"CPU per request, metrics off vs on, median of {args.rounds} rounds x {args.requests} requests")
    print(f"{'row':<36} {'off us':>9} {'on us':>9} {'delta us':>9}")
    for row in rows:
        print(f"{row.row:<36} {row.off_cpu_us:>9.1f} {row.on_cpu_us:>9.1f} {row.delta_us:>+9.1f}")
    print(f"{'GET /metrics (scrape)':<36} {'':>9} {scrape_us:>9.1f}  ({scrape_bytes} bytes)")
    results.write(
        "metrics",
        {"rows": [asdict(r) for r in rows], "scrape_cpu_us": scrape_us, "scrape_bytes": scrape_bytes},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
