"""Micro-benchmark: what metering costs per request, metrics off and on side by side in one run.

``uv run python -m ops.bench.metrics [--requests 2000] [--rounds 5]``

Three apps are built in this process as ``switchboard serve`` builds them (memory store, the offline
``scripted`` provider, no token delay): two with ``SWITCHBOARD_METRICS=false`` and one with ``true``,
driven through their ASGI callables exactly as ``ops/bench/asgi.py`` drives one (no socket, no HTTP parser:
only the service's own work). Each round measures every row on the three apps, rotating which goes
first, so drift on a busy machine hits all alike. Per row: the median over rounds of CPU microseconds
per request with metrics off, on, their difference, and the difference between the two apps without
metrics (an A/A control: differences below it are noise). Two more rows: the collector's own cost
per finished call (``PrometheusMetrics.call_ended`` alone, 100,000 times: what metering adds to a request
without the noise of a whole one), and a scrape of ``GET /metrics`` after the run. Writes
``var/bench/metrics.json``.
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
    control_delta_us: float
    """The second metrics-off app minus the first: the noise floor of ``delta_us``."""


async def _start(var: Path, metrics: bool) -> tuple[Driver, Callable[[], Awaitable[None]]]:
    extra = {"SWITCHBOARD_METRICS": "true" if metrics else "false", "SWITCHBOARD_METRICS_AUTH": "none"}
    driver = Driver(create_app(_settings(var, None, extra)))
    return driver, await driver.lifespan()


async def run(requests: int, rounds: int) -> tuple[list[Row], float, int]:
    calls = _rows("scripted")
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-metrics-") as var:
        started = [
            await _start(Path(var) / name, on) for name, on in (("off", False), ("off2", False), ("on", True))
        ]
        drivers = [driver for driver, _ in started]
        try:
            measured: dict[str, list[list[float]]] = {}
            for round_ in range(rounds):
                for name, call in calls.items():
                    for offset in range(3):
                        index = (round_ + offset) % 3
                        _, cpu = await _measure(drivers[index], call, requests)
                        measured.setdefault(name, [[], [], []])[index].append(cpu)
            on = drivers[2]
            status, body = await on.request("GET", "/metrics")
            assert status == 200, body[:200]
            start = time.process_time()
            for _ in range(200):
                await on.request("GET", "/metrics")
            scrape_us = (time.process_time() - start) / 200 * 1e6
        finally:
            for _, stop in reversed(started):
                await stop()
    rows = []
    for name, (off, control, on_) in measured.items():
        off_us, control_us, on_us = (statistics.median(v) for v in (off, control, on_))
        rows.append(
            Row(
                name,
                requests,
                round(off_us, 1),
                round(on_us, 1),
                round(on_us - off_us, 1),
                round(control_us - off_us, 1),
            )
        )
    return rows, round(scrape_us, 1), len(body)


def sink_cost_us(calls: int = 100_000) -> float:
    """CPU microseconds of one ``PrometheusMetrics.call_ended`` (a streamed call with tokens and cost)."""
    from adapters.telemetry.prometheus_metrics import PrometheusMetrics
    from contracts.telemetry import CallEnded
    from contracts.usage import Usage

    metrics = PrometheusMetrics()
    call = CallEnded(
        outcome="completed",
        surface="chat",
        tenant_id="t",
        key_id="k",
        agent="a",
        route="default",
        deployment="scripted",
        model="m",
        streamed=True,
        ttft_s=0.01,
        latency_s=0.2,
        usage=Usage(input_tokens=100, output_tokens=50, total_tokens=150, cached_tokens=20),
        cost_usd=0.001,
    )
    for _ in range(1000):
        metrics.call_ended(call)
    start = time.process_time()
    for _ in range(calls):
        metrics.call_ended(call)
    return round((time.process_time() - start) / calls * 1e6, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.metrics", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per row, app and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be >= 1")
    rows, scrape_us, scrape_bytes = asyncio.run(run(args.requests, args.rounds))
    sink_us = sink_cost_us()
    print(f"CPU per request, metrics off vs on, median of {args.rounds} rounds x {args.requests} requests")
    print(f"{'row':<36} {'off us':>9} {'on us':>9} {'on-off':>9} {'A/A':>9}")
    for row in rows:
        print(
            f"{row.row:<36} {row.off_cpu_us:>9.1f} {row.on_cpu_us:>9.1f} {row.delta_us:>+9.1f}"
            f" {row.control_delta_us:>+9.1f}"
        )
    print(f"{'collector per finished call':<36} {'':>9} {sink_us:>9.2f}")
    print(f"{'GET /metrics (scrape)':<36} {'':>9} {scrape_us:>9.1f}  ({scrape_bytes} bytes)")
    results.write(
        "metrics",
        {
            "rows": [asdict(r) for r in rows],
            "collector_cpu_us": sink_us,
            "scrape_cpu_us": scrape_us,
            "scrape_bytes": scrape_bytes,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
