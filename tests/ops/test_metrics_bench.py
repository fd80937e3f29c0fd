"""The metrics-on-vs-off benchmark runs both apps and measures every row on each."""

from __future__ import annotations

from ops.bench.metrics import run, sink_cost_us


async def test_the_benchmark_measures_each_row_with_metrics_off_and_on() -> None:
    rows, scrape_us, scrape_bytes = await run(requests=3, rounds=2)
    assert [r.row for r in rows] == [
        "GET /health/live",
        "POST /v1/chat",
        "POST /v1/chat/completions",
        "POST /v1/chat/stream",
        "POST /v1/chat/completions stream",
    ]
    assert all(r.off_cpu_us > 0 and r.on_cpu_us > 0 for r in rows)
    assert scrape_us > 0 and scrape_bytes > 1000  # the scrape has the series of the calls just made


def test_the_collector_cost_is_measured() -> None:
    assert 0 < sink_cost_us(calls=200) < 1000
