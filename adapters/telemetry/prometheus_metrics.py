"""Prometheus metrics (prometheus-client): a ``CallSink`` that meters call outcomes, and the
``MetricsExposition`` of ``GET /metrics``.

Labels are few and bounded: surface, route, deployment (provider instance), outcome, token kind, limit,
failure class; ``tenant`` only when asked for. Label children are cached per label tuple, so a finished
call costs a dict lookup and a few locked additions, no label validation.

With several worker processes, prometheus-client's multiprocess mode must be on
(``PROMETHEUS_MULTIPROC_DIR`` set in the environment before prometheus-client is imported): each
process writes its values to memory-mapped files in that directory and a scrape of any worker sums them.
Circuit states are read at scrape time from the scraped process's view (shared by every instance with
the Redis health board).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.registry import Collector

from contracts.telemetry import CallEnded

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, float("inf"))
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"))
CIRCUIT_STATES = ("ok", "probing", "cooling")

CircuitReader = Callable[[], Iterable[tuple[str, str, str]]]
"""(route, deployment, state) for every deployment of every route, read at scrape time."""


class PrometheusMetrics:
    """Implements ``CallSink`` and ``MetricsExposition``. ``multiproc_dir``: the directory of
    multiprocess mode ("" for one process)."""

    def __init__(
        self,
        *,
        tenant_label: bool = False,
        multiproc_dir: str = "",
        circuits: CircuitReader | None = None,
    ) -> None:
        self._tenant = tenant_label
        self._multiproc_dir = multiproc_dir
        disable_created_metrics()  # no ``*_created`` series: they double a scrape and say little here
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        call = ("surface", "route", "deployment", "outcome", *(("tenant",) if tenant_label else ()))
        billed = ("surface", "route", "deployment", *(("tenant",) if tenant_label else ()))
        self._calls = Counter("switchboard_calls", "Finished turns and model calls.", call, registry=r)
        self._duration = Histogram(
            "switchboard_call_duration_seconds",
            "Time from accepting a turn or call to its end.",
            ("surface", "route", "deployment", "outcome"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._ttft = Histogram(
            "switchboard_time_to_first_token_seconds",
            "Time from accepting a streamed turn or call to its first streamed content.",
            ("surface", "route", "deployment"),
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self._tokens = Counter(
            "switchboard_tokens",
            "Tokens by kind: input (cached_read and cache_write are parts of it), output (reasoning is "
            "part of it).",
            (*billed, "kind"),
            registry=r,
        )
        self._cost = Counter(
            "switchboard_cost_usd",
            "Cost of finished calls in US dollars (priced models only).",
            billed,
            registry=r,
        )
        self._attempts = Counter(
            "switchboard_fallback_attempts",
            "Failed model calls that a route retried or fell back from.",
            ("route", "deployment", "failure"),
            registry=r,
        )
        self._refusals = Counter(
            "switchboard_limit_refusals", "Requests refused by a per-key limit.", ("limit",), registry=r
        )
        self._reloads = Counter(
            "switchboard_config_reloads",
            "Configuration reloads by outcome: applied, unchanged, refused (docs/operations.md).",
            ("outcome",),
            registry=r,
        )
        self._streams = Gauge(
            "switchboard_open_streams",
            "Streamed responses open now.",
            ("surface",),
            multiprocess_mode="livesum",
            registry=r,
        )
        self._starts = Gauge(
            "switchboard_stream_starts",
            "Streamed calls in their setup now (starting), and waiting for a start slot (waiting); "
            "SWITCHBOARD_STREAM_MAX_STARTING bounds the first.",
            ("state",),
            multiprocess_mode="livesum",
            registry=r,
        )
        self._starting, self._waiting = self._starts.labels("starting"), self._starts.labels("waiting")
        self._starting.set(0)
        self._waiting.set(0)
        self._circuits = circuits
        self._children: dict[tuple[str | bool, ...], tuple[Any, Any, Any | None]] = {}
        self._token_children: dict[tuple[str, ...], tuple[Any, ...]] = {}
        self._stream_children: dict[str, Any] = {}
        if multiproc_dir:
            from prometheus_client import multiprocess

            self._exposition_registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self._exposition_registry, path=multiproc_dir)
        else:
            self._exposition_registry = self.registry
        if circuits is not None:
            self._exposition_registry.register(_CircuitCollector(circuits))

    # -- CallSink -----------------------------------------------------------------------------------------

    def call_ended(self, call: CallEnded) -> None:
        tenant = call.tenant_id if self._tenant else ""
        key = (call.surface, call.route, call.deployment, call.outcome, tenant, call.streamed)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = self._make_children(call)
        calls, duration, ttft = children
        calls.inc()
        duration.observe(call.latency_s)
        if ttft is not None and call.ttft_s is not None:
            ttft.observe(call.ttft_s)
        usage = call.usage
        if usage.input_tokens or usage.output_tokens:
            billed = (call.surface, call.route, call.deployment, tenant)
            tokens = self._token_children.get(billed)
            if tokens is None:
                tokens = self._token_children[billed] = self._make_token_children(call)
            i, o, cr, cw, rs, cost = tokens
            i.inc(usage.input_tokens)
            o.inc(usage.output_tokens)
            if usage.cached_tokens:
                cr.inc(usage.cached_tokens)
            if usage.cache_write_tokens:
                cw.inc(usage.cache_write_tokens)
            if usage.reasoning_tokens:
                rs.inc(usage.reasoning_tokens)
            if call.cost_usd:
                cost.inc(call.cost_usd)
        for attempt in call.attempts:
            self._attempts.labels(call.route, attempt.provider, attempt.failure).inc()

    def _billed(self, call: CallEnded) -> tuple[str, ...]:
        base = (call.surface, call.route, call.deployment)
        return (*base, call.tenant_id) if self._tenant else base

    def _make_children(self, call: CallEnded) -> tuple[Any, Any, Any | None]:
        base = (call.surface, call.route, call.deployment)
        counted = (*base, call.outcome, call.tenant_id) if self._tenant else (*base, call.outcome)
        ttft = self._ttft.labels(*base) if call.streamed else None
        return self._calls.labels(*counted), self._duration.labels(*base, call.outcome), ttft

    def _make_token_children(self, call: CallEnded) -> tuple[Any, ...]:
        billed = self._billed(call)
        kinds = ("input", "output", "cached_read", "cache_write", "reasoning")
        return (*(self._tokens.labels(*billed, kind) for kind in kinds), self._cost.labels(*billed))

    def refused(self, limit: str) -> None:
        self._refusals.labels(limit).inc()

    def config_reloaded(self, outcome: str) -> None:
        self._reloads.labels(outcome).inc()

    def stream_opened(self, surface: str) -> None:
        self._stream(surface).inc()

    def stream_closed(self, surface: str) -> None:
        self._stream(surface).dec()

    def _stream(self, surface: str) -> Any:
        child = self._stream_children.get(surface)
        if child is None:
            child = self._stream_children[surface] = self._streams.labels(surface)
        return child

    def stream_starts_changed(self, starting: int, waiting: int) -> None:
        """This worker's start gate (``StreamStarts``): slots taken and callers waiting."""
        self._starting.set(starting)
        self._waiting.set(waiting)

    # -- MetricsExposition --------------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self._exposition_registry), CONTENT_TYPE_LATEST

    async def aclose(self) -> None:
        """This process's live gauges leave the multiprocess directory (the process is ending)."""
        if self._multiproc_dir:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self._multiproc_dir)


class _CircuitCollector(Collector):
    """``switchboard_circuit_state{route,deployment,state}``: 1 for the state each deployment is in."""

    def __init__(self, read: CircuitReader) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "switchboard_circuit_state",
            "Circuit state of each deployment of each route (1: the state it is in).",
            labels=("route", "deployment", "state"),
        )
        for route, deployment, state in self._read():
            for candidate in CIRCUIT_STATES:
                family.add_metric((route, deployment, candidate), 1.0 if candidate == state else 0.0)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())
