"""The Prometheus collector: what a finished call, a refusal and a stream add to which series, the opt-in
tenant label, circuit states read at scrape time, and multiprocess mode summing several processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from adapters.telemetry.prometheus_metrics import PrometheusMetrics
from contracts.models import Attempt
from contracts.telemetry import CallEnded
from contracts.usage import Usage

REPO = Path(__file__).resolve().parents[3]


def samples(metrics: PrometheusMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def call(**changes: object) -> CallEnded:
    fields: dict[str, object] = {
        "outcome": "completed",
        "surface": "openai.chat",
        "tenant_id": "acme",
        "key_id": "k1",
        "agent": "",
        "route": "fast",
        "deployment": "local",
        "model": "m",
        "latency_s": 0.3,
        "usage": Usage(
            input_tokens=100,
            output_tokens=20,
            total_tokens=120,
            cached_tokens=40,
            cache_write_tokens=10,
            reasoning_tokens=5,
        ),
        "cost_usd": 0.002,
    }
    fields.update(changes)
    return CallEnded(**fields)  # type: ignore[arg-type]


def test_a_call_counts_its_outcome_latency_tokens_by_kind_and_cost() -> None:
    metrics = PrometheusMetrics()
    metrics.call_ended(call())
    metrics.call_ended(call(streamed=True, ttft_s=0.04))
    metrics.call_ended(call(outcome="failed", usage=Usage(), cost_usd=None, latency_s=2.0))
    found = samples(metrics)
    base = {"surface": "openai.chat", "route": "fast", "deployment": "local"}
    assert value(found, "switchboard_calls_total", **base, outcome="completed") == 2
    assert value(found, "switchboard_calls_total", **base, outcome="failed") == 1
    assert value(found, "switchboard_call_duration_seconds_count", **base, outcome="completed") == 2
    assert (
        value(found, "switchboard_call_duration_seconds_bucket", **base, outcome="completed", le="0.5") == 2
    )
    assert value(found, "switchboard_call_duration_seconds_bucket", **base, outcome="failed", le="1.0") == 0
    assert value(found, "switchboard_time_to_first_token_seconds_count", **base) == 1
    assert value(found, "switchboard_time_to_first_token_seconds_bucket", **base, le="0.05") == 1
    for kind, tokens in [
        ("input", 200),
        ("output", 40),
        ("cached_read", 80),
        ("cache_write", 20),
        ("reasoning", 10),
    ]:
        assert value(found, "switchboard_tokens_total", **base, kind=kind) == tokens
    assert abs(value(found, "switchboard_cost_usd_total", **base) - 0.004) < 1e-12
    assert not any("tenant" in dict(labels) for _, labels in found)


def test_failed_attempts_refusals_and_open_streams() -> None:
    metrics = PrometheusMetrics()
    attempt = Attempt(provider="local", model="m", failure="server_error", detail="HTTP 500")
    metrics.call_ended(call(deployment="resp", attempts=(attempt, attempt)))
    metrics.refused("requests_per_minute")
    metrics.stream_opened("chat")
    metrics.stream_opened("chat")
    metrics.stream_closed("chat")
    found = samples(metrics)
    attempts = value(
        found, "switchboard_fallback_attempts_total", route="fast", deployment="local", failure="server_error"
    )
    assert attempts == 2
    assert value(found, "switchboard_limit_refusals_total", limit="requests_per_minute") == 1
    assert value(found, "switchboard_open_streams", surface="chat") == 1


def test_the_start_gate_shows_as_starting_and_waiting() -> None:
    metrics = PrometheusMetrics()
    assert value(samples(metrics), "switchboard_stream_starts", state="waiting") == 0
    metrics.stream_starts_changed(128, 7)
    found = samples(metrics)
    assert value(found, "switchboard_stream_starts", state="starting") == 128
    assert value(found, "switchboard_stream_starts", state="waiting") == 7


def test_the_tenant_label_is_only_there_when_asked_for() -> None:
    metrics = PrometheusMetrics(tenant_label=True)
    metrics.call_ended(call())
    metrics.call_ended(call(tenant_id="globex"))
    found = samples(metrics)
    base = {"surface": "openai.chat", "route": "fast", "deployment": "local"}
    for tenant in ("acme", "globex"):
        assert value(found, "switchboard_calls_total", **base, outcome="completed", tenant=tenant) == 1
        assert value(found, "switchboard_tokens_total", **base, kind="input", tenant=tenant) == 100


def test_circuit_states_are_read_at_scrape_time() -> None:
    states = [("fast", "local:m", "ok")]
    metrics = PrometheusMetrics(circuits=lambda: states)
    assert (
        value(samples(metrics), "switchboard_circuit_state", route="fast", deployment="local:m", state="ok")
        == 1
    )
    states[0] = ("fast", "local:m", "cooling")
    found = samples(metrics)
    assert value(found, "switchboard_circuit_state", route="fast", deployment="local:m", state="cooling") == 1
    assert value(found, "switchboard_circuit_state", route="fast", deployment="local:m", state="ok") == 0


WORKER = """
import asyncio, sys
from adapters.telemetry.prometheus_metrics import PrometheusMetrics
from contracts.telemetry import CallEnded
from contracts.usage import Usage
metrics = PrometheusMetrics(multiproc_dir=sys.argv[1])
for _ in range(int(sys.argv[2])):
    metrics.call_ended(CallEnded(outcome="completed", surface="chat", tenant_id="t", key_id="k", agent="a",
        route="default", deployment="scripted", model="m", latency_s=0.1,
        usage=Usage(input_tokens=10, output_tokens=2, total_tokens=12)))
metrics.stream_opened("chat")
if sys.argv[3] == "exit":
    asyncio.run(metrics.aclose())
else:
    sys.stdout.write(metrics.render()[0].decode())
"""


def test_multiprocess_mode_sums_every_worker_and_forgets_the_open_streams_of_dead_ones(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}

    def run(count: int, mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(tmp_path), str(count), mode],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    run(3, "exit")  # a worker that served 3 calls, then ended
    text = run(2, "render")  # a live worker scraped
    found = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    base = {"surface": "chat", "route": "default", "deployment": "scripted"}
    assert value(found, "switchboard_calls_total", **base, outcome="completed") == 5
    assert value(found, "switchboard_tokens_total", **base, kind="input") == 50
    assert value(found, "switchboard_open_streams", surface="chat") == 1  # the dead worker's is gone
