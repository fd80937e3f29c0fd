"""``edge``: the provider edge against its two references, in ONE run (``python -m ops.bench.edge``).

Starts, as children on free 127.0.0.1 ports: the fast upstream (``upstream.py``), nginx with fixed JSON
when installed (``nginx.py``), the minimal forwarder (``forwarder.py``) in front of each, and every service
configuration (a named env set, optionally from another checkout with its own venv; all started up front,
idle while the others are measured). For every target and path: a probe (404 -> skipped with a message), a
warm-up, then each concurrency level (default 1 and 32) capped by ``--requests`` and ``--max-seconds``,
through wrk when installed (``load.py``); ``--rounds N`` repeats the whole sequence N times, interleaved, and
reports medians (drift on a shared machine then hits every target alike). Prints one table with
the overhead over the direct upstream at the lowest level and the ratios to the forwarder, then the
before/after comparisons, and writes ``var/bench/edge.json`` (machine, load average, every command, every
number). ``--sse N`` instead runs N concurrent streams per target through the paced upstream (``sse_load.py``)
and writes ``var/bench/edge-sse.json``.

Targets: ``direct`` (the fast upstream itself, per upstream path), ``nginx`` (direct), ``forwarder``
(-> upstream), ``forwarder>nginx``, then every ``--service``. A service spec is
``LABEL[=ITEM,ITEM...]``; ITEM is a preset name (below), ``KEY=VALUE`` (service environment; ``{upstream}``
is replaced by ``http://127.0.0.1:<upstream port>``), ``checkout=DIR`` (run ``DIR/.venv/bin/python -m ops
serve`` with DIR's code and config), ``path=/v1/...`` (repeatable: the paths to measure; default the
preset's), ``sse_path=/v1/...``, ``model=NAME`` (for OpenAI/Anthropic-shaped bodies), ``baseline=LABEL``
(compare with that service on the same path). ``--service LABEL`` alone takes the preset of that name.
``--old-checkout DIR`` adds ``old-<preset>`` for each of ``--old-presets`` run from DIR and makes it the
baseline of the new one. Nothing leaves 127.0.0.1; every load loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ops.bench import harness, load, loop_probe, nginx, procfs, results, sse_load
from ops.bench.sse import EXPECTED_DELTAS as SCRIPTED_DELTAS
from ops.bench.stats import table

MESSAGE = "hello there"
OPENAI_BASE = {
    "SWITCHBOARD_PROVIDERS": "openai",
    "SWITCHBOARD_PROVIDER_OPENAI_BASE_URL": "{upstream}/v1",
    "OPENAI_API_KEY": "x",
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "SWITCHBOARD_SESSION_STORE": "memory",
}


@dataclass(frozen=True)
class Preset:
    env: dict[str, str]
    paths: tuple[str, ...]
    note: str
    sse_path: str = "/v1/chat/stream"


PRESETS = {
    "scripted-memory": Preset(
        {"SWITCHBOARD_PROVIDERS": "scripted", "SWITCHBOARD_SESSION_STORE": "memory"},
        ("/v1/chat",),
        "offline provider, conversations in memory",
    ),
    "scripted-sqlite": Preset(
        {"SWITCHBOARD_PROVIDERS": "scripted"}, ("/v1/chat",), "offline provider, SQLite (the default store)"
    ),
    "openai-chat": Preset(
        {**OPENAI_BASE, "SWITCHBOARD_PROVIDER_OPENAI_API_MODE": "chat_completions"},
        ("/v1/chat", "/v1/chat/completions"),
        "openai kind, Chat Completions, -> fast upstream, memory store",
    ),
    "openai-responses": Preset(
        {**OPENAI_BASE, "SWITCHBOARD_PROVIDER_OPENAI_API_MODE": "responses"},
        ("/v1/chat", "/v1/responses"),
        "openai kind, Responses API, -> fast upstream, memory store",
    ),
    "anthropic": Preset(
        {
            "SWITCHBOARD_PROVIDERS": "anthropic",
            "SWITCHBOARD_PROVIDER_ANTHROPIC_BASE_URL": "{upstream}",
            "ANTHROPIC_API_KEY": "x",
            "SWITCHBOARD_SESSION_STORE": "memory",
        },
        ("/v1/chat", "/v1/messages"),
        "anthropic kind (Messages API) -> fast upstream, memory store",
        sse_path="/v1/messages",
    ),
}
DEFAULT_SERVICES = (
    "scripted-memory",
    "scripted-sqlite=scripted-sqlite,baseline=scripted-memory",
    "openai-chat",
)
UPSTREAM_PATHS = ("/v1/chat/completions", "/v1/responses", "/v1/messages")
# What the issues ask of each figure (printed beside it; a benchmark reports, it never asserts).
TARGETS = {
    "/v1/chat": "overhead <= 3x the forwarder's (issue 7)",
    "/v1/chat/completions": "overhead <= 1.2x the forwarder's, req/s >= 80% (issue 9)",
    "/v1/messages": "overhead <= 1.3x the forwarder's (issue 10)",
}


@dataclass
class Service:
    label: str
    env: dict[str, str] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    sse_path: str = "/v1/chat/stream"
    checkout: Path | None = None
    model: str = "bench-model"
    baseline: str | None = None
    presets: list[str] = field(default_factory=list)


def parse_service(spec: str) -> Service:
    label, _, items = spec.partition("=")
    label = label.strip()
    if not label:
        raise argparse.ArgumentTypeError(f"--service {spec!r}: a label is needed (LABEL[=ITEM,...])")
    service = Service(label)
    paths: list[str] = []
    for item in [i.strip() for i in (items or label).split(",") if i.strip()]:
        key, eq, value = item.partition("=")
        if not eq:
            preset = PRESETS.get(item)
            if preset is None:
                raise argparse.ArgumentTypeError(f"unknown preset {item!r} (one of {', '.join(PRESETS)})")
            service.env |= preset.env
            service.paths = list(preset.paths)
            service.sse_path = preset.sse_path
            service.presets.append(item)
        elif key == "checkout":
            service.checkout = Path(value).expanduser().resolve()
        elif key == "path":
            paths.append(value)
        elif key == "sse_path":
            service.sse_path = value
        elif key == "model":
            service.model = value
        elif key == "baseline":
            service.baseline = value
        elif key.isupper() or key[:1].isupper():
            service.env[key] = value
        else:
            raise argparse.ArgumentTypeError(f"--service {spec!r}: unknown item {item!r}")
    if paths:
        service.paths = paths
    if not service.paths:
        service.paths = ["/v1/chat"]
    return service


def _levels(text: str) -> list[int]:
    levels = sorted({int(p) for p in text.split(",") if p.strip()})
    if not levels or levels[0] < 1:
        raise argparse.ArgumentTypeError("concurrency levels: comma-separated integers >= 1")
    return levels


upstream_port_pid: dict[int, int] = {}  # the fast upstream's port -> pid, for its CPU seconds per cell


# --- bodies ----------------------------------------------------------------------------------------------


def body_for(path: str, model: str, *, stream: bool = False) -> bytes:
    user = [{"role": "user", "content": MESSAGE}]
    body: dict[str, Any]
    if path.startswith("/v1/chat/completions"):
        body = {"model": model, "messages": user}
    elif path.startswith("/v1/responses"):
        body = {"model": model, "input": MESSAGE}
    elif path.startswith("/v1/messages"):
        body = {"model": model, "max_tokens": 256, "messages": user}
    else:
        body = {"message": MESSAGE}
    if stream and "message" not in body:
        body["stream"] = True
    return msgspec.json.encode(body)


def headers_for(path: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", **harness.AUTH_HEADER}
    if path.startswith("/v1/messages"):
        headers |= {"x-api-key": harness.API_KEY, "anthropic-version": "2023-06-01"}
    return headers


def ref_path(path: str, service: Service | None = None) -> str:
    """The upstream path a target's request costs: its own for the compat routes, else chat completions."""
    if path in UPSTREAM_PATHS:
        return path
    if service is not None and service.env.get("SWITCHBOARD_PROVIDER_OPENAI_API_MODE") == "responses":
        return "/v1/responses"
    return "/v1/chat/completions"


# --- processes -------------------------------------------------------------------------------------------


def _plain_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    return env | {"PYTHONPATH": str(harness.REPO), "PYTHONUNBUFFERED": "1"}


def start_upstream(workdir: Path, tokens: int, delay_ms: float) -> harness.Service:
    port = harness.free_port()
    args = [sys.executable, "-m", "ops.bench.upstream", "--port", str(port), "--tokens", str(tokens)]
    args += ["--token-delay-ms", f"{delay_ms:g}"]
    return harness.spawn(
        args, workdir, _plain_env(), port, ready_path="/v1/models", timeout_s=60, name="upstream"
    )


def start_forwarder(workdir: Path, upstream: str) -> harness.Service:
    port = harness.free_port()
    args = [sys.executable, "-m", "ops.bench.forwarder", "--port", str(port), "--upstream", upstream]
    return harness.spawn(
        args, workdir, _plain_env(), port, ready_path="/health", timeout_s=120, name="forwarder"
    )


def start_service(workdir: Path, service: Service, upstream: str, extra: dict[str, str]) -> harness.Service:
    repo = service.checkout or harness.REPO
    if service.checkout is not None and not (repo / ".venv" / "bin" / "python").exists():
        raise RuntimeError(
            f"{service.label}: {repo}/.venv/bin/python not found (run `uv sync --locked` there)"
        )
    env_extra = {k: v.replace("{upstream}", upstream) for k, v in (service.env | extra).items()}
    env = harness.service_env(workdir / "var", env_extra, repo=repo)
    return harness.start(workdir / "service", env, python=harness.checkout_python(repo), timeout_s=180)


def _masked(env: dict[str, str]) -> dict[str, str]:
    secret = ("KEY", "SECRET", "TOKEN", "PASSWORD")
    return {k: ("***" if any(s in k for s in secret) and v not in ("", "x") else v) for k, v in env.items()}


def upstream_stats(port: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection(harness.HOST, port, timeout=5)
    try:
        conn.request("GET", "/_bench/stats")
        return msgspec.json.decode(conn.getresponse().read())  # type: ignore[no-any-return]
    except (OSError, http.client.HTTPException, msgspec.DecodeError):
        return {}
    finally:
        conn.close()


def _upstream_calls(stats: dict[str, Any]) -> int:
    return sum(stats.get("requests", {}).values()) if stats else 0


def probe(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    host_port, _, path = url.split("://", 1)[1].partition("/")
    host, _, port = host_port.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("POST", "/" + path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        return 0, f"{type(exc).__name__}: {exc}".encode()
    finally:
        conn.close()


# --- JSON cells ------------------------------------------------------------------------------------------


@dataclass
class Target:
    label: str
    kind: str  # upstream | nginx | forwarder | service
    base: str
    path: str
    pid: int
    ref: str  # label of the direct reference ("direct" or "nginx")
    ref_path: str
    model: str = "bench-model"
    baseline: str | None = None

    @property
    def url(self) -> str:
        return self.base + self.path


def new_row(target: Target) -> dict[str, Any]:
    return {
        "target": target.label,
        "kind": target.kind,
        "path": target.path,
        "url": target.url,
        "ref": target.ref,
        "ref_path": target.ref_path,
        "baseline": target.baseline,
        "levels": {},
        "rounds": [],
    }


def probe_target(target: Target, row: dict[str, Any]) -> bool:
    """One request first: a 404 (route not built yet) or any other failure skips the target, with a message."""
    status, answer = probe(target.url, body_for(target.path, target.model), headers_for(target.path))
    if status == 200:
        return True
    reason = "route not there (404)" if status == 404 else f"probe answered {status}: {answer[:300]!r}"
    print(f"  {target.label} {target.path}: skipped, {reason}", flush=True)
    row["skipped"] = reason
    return False


def measure_round(
    target: Target, row: dict[str, Any], args: argparse.Namespace, upstream_port: int, warm: bool
) -> None:
    """Each concurrency level once (after a warm-up when ``warm``); appends ``{level: cell}`` to rounds."""
    body, headers = body_for(target.path, target.model), headers_for(target.path)
    cells: dict[str, Any] = {}
    for level in args.concurrency:
        if warm and args.warmup:
            load.measure(
                target.url, body, headers, level, args.warmup, min(5.0, args.max_seconds), args.loadgen
            )
        calls0, cpu0 = _upstream_calls(upstream_stats(upstream_port)), procfs.cpu_seconds(target.pid)
        up_cpu0 = (
            procfs.cpu_seconds(upstream_port_pid[upstream_port])
            if upstream_port in upstream_port_pid
            else 0.0
        )
        load_before = os.getloadavg()[0]
        result = load.measure(target.url, body, headers, level, args.requests, args.max_seconds, args.loadgen)
        cell = result.as_dict()
        cell["server_cpu_s"] = round(procfs.cpu_seconds(target.pid) - cpu0, 2)
        if upstream_port in upstream_port_pid:
            cell["upstream_cpu_s"] = round(procfs.cpu_seconds(upstream_port_pid[upstream_port]) - up_cpu0, 2)
        calls = _upstream_calls(upstream_stats(upstream_port)) - calls0
        cell["upstream_calls"] = calls
        cell["upstream_calls_per_ok"] = round(calls / result.ok, 2) if result.ok else None
        cell["loadavg_1m_before"] = round(load_before, 2)
        cell["settle_s"] = settle(target.pid, upstream_port)
        cells[str(level)] = cell
        capped = " (time cap)" if result.time_capped else ""
        print(
            f"  {target.label} {target.path} c={level}: {result.ok} ok, {result.errors} errors in "
            f"{result.seconds:.2f} s{capped}, {result.rps} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms "
            f"[{result.generator}]",
            flush=True,
        )
    row["rounds"].append(cells)


def settle(pid: int, upstream_port: int, quiet_s: float = 0.2, max_s: float = 15.0) -> float:
    """Wait until the target has drained what the load generator left in flight (a time cap stops wrk with
    requests still running: a slow service keeps working on them): its CPU time and the upstream's call count
    unchanged for ``quiet_s``, at most ``max_s``. Returns the seconds waited."""
    started = time.perf_counter()
    before = (procfs.cpu_seconds(pid), _upstream_calls(upstream_stats(upstream_port)))
    while time.perf_counter() - started < max_s:
        time.sleep(quiet_s)
        now = (procfs.cpu_seconds(pid), _upstream_calls(upstream_stats(upstream_port)))
        if now == before:
            break
        before = now
    return round(time.perf_counter() - started, 2)


def aggregate(row: dict[str, Any]) -> None:
    """``levels[level]``: the median over rounds of each number (the first round's other fields)."""
    if row.get("skipped") or not row["rounds"]:
        return
    for level in row["rounds"][0]:
        cells = [r[level] for r in row["rounds"] if level in r]
        merged = dict(cells[0])
        for key in ("rps", "p50_ms", "p75_ms", "p90_ms", "p99_ms", "mean_ms", "upstream_calls_per_ok"):
            values = [c[key] for c in cells if isinstance(c.get(key), int | float) and c[key] == c[key]]
            merged[key] = round(statistics.median(values), 3) if values else None
        for key in ("ok", "errors", "upstream_calls", "server_cpu_s", "upstream_cpu_s", "client_cpu_s"):
            if key in merged:
                merged[key] = round(sum(c.get(key) or 0 for c in cells), 3)
        merged["seconds"] = round(sum(c["seconds"] for c in cells), 3)
        merged["time_capped"] = any(c["time_capped"] for c in cells)
        merged["rounds"] = len(cells)
        row["levels"][level] = merged


def _cell(row: dict[str, Any], level: int) -> dict[str, Any] | None:
    if row.get("skipped"):
        return None
    return row["levels"].get(str(level))  # type: ignore[no-any-return]


def derive(rows: list[dict[str, Any]], lat: int, tput: int) -> list[dict[str, Any]]:
    """Overheads over the direct reference, ratios to the forwarder, comparisons with baselines."""
    index = {(r["target"], r["path"]): r for r in rows}

    def p50(label: str, path: str) -> float:
        cell = _cell(index.get((label, path), {"skipped": 1}), lat)
        return cell["p50_ms"] if cell and cell["ok"] else math.nan

    def rps(label: str, path: str) -> float:
        cell = _cell(index.get((label, path), {"skipped": 1}), tput)
        return cell["rps"] if cell and cell["ok"] else math.nan

    def cpu_us(label: str, path: str) -> float | None:
        """CPU microseconds the target's process spent per 200 response at the throughput level."""
        cell = _cell(index.get((label, path), {"skipped": 1}), tput)
        if not cell or not cell["ok"]:
            return None
        return round(cell["server_cpu_s"] * 1e6 / cell["ok"], 1)

    for row in rows:
        d: dict[str, Any] = {}
        own_p50, own_rps = p50(row["target"], row["path"]), rps(row["target"], row["path"])
        direct = p50(row["ref"], row["ref_path"])
        d["overhead_ms"] = round(own_p50 - direct, 3) if row["kind"] not in ("upstream", "nginx") else None
        fwd_label = "forwarder>nginx" if row["ref"] == "nginx" else "forwarder"
        fwd_overhead = p50(fwd_label, row["ref_path"]) - direct
        if row["kind"] == "service" and d["overhead_ms"] is not None and fwd_overhead > 0:
            d["x_forwarder_overhead"] = round(d["overhead_ms"] / fwd_overhead, 2)
        fwd_rps = rps(fwd_label, row["ref_path"])
        if row["kind"] == "service" and fwd_rps > 0:
            d["pct_forwarder_rps"] = round(100 * own_rps / fwd_rps, 1)
        top = _cell(row, tput)
        if top and top["ok"] and top["p50_ms"] > 0:
            d["p99_over_p50"] = round(top["p99_ms"] / top["p50_ms"], 2)
        upstream_rps = rps("direct", row["ref_path"])
        if row["kind"] == "service" and own_rps > 0:
            d["upstream_x_faster"] = round(upstream_rps / own_rps, 1)
        d["cpu_us_per_ok"] = cpu_us(row["target"], row["path"])
        upstream_cpu = cpu_us("direct", row["ref_path"])
        if row["kind"] == "service" and d["cpu_us_per_ok"] and upstream_cpu:
            d["upstream_x_cheaper"] = round(d["cpu_us_per_ok"] / upstream_cpu, 1)
        if row.get("baseline"):
            base_p50, base_rps = p50(row["baseline"], row["path"]), rps(row["baseline"], row["path"])
            d["vs_baseline"] = {
                "baseline": row["baseline"],
                "p50_delta_ms": round(own_p50 - base_p50, 3),
                "rps_ratio": round(own_rps / base_rps, 2) if base_rps > 0 else None,
            }
        row["derived"] = d
    return rows


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:g}{suffix}" if isinstance(value, float | int) else str(value)


def print_table(rows: list[dict[str, Any]], lat: int, tput: int) -> None:
    headers = [
        "target",
        "path",
        "gen",
        f"c{lat} p50",
        f"c{lat} p99",
        "+p50 ms",
        "x fwd",
        f"c{tput} req/s",
        f"c{tput} p50",
        f"c{tput} p99",
        "p99/p50",
        "% fwd",
        "cpu us/req",
        "up calls",
    ]
    out = []
    for row in rows:
        if row.get("skipped"):
            out.append([row["target"], row["path"], "-", *(["-"] * 11)])
            out[-1][3] = "skipped"
            continue
        a, b, d = _cell(row, lat) or {}, _cell(row, tput) or {}, row["derived"]
        out.append(
            [
                row["target"],
                row["path"],
                a.get("generator", "-"),
                _fmt(a.get("p50_ms")),
                _fmt(a.get("p99_ms")),
                _fmt(d.get("overhead_ms")),
                _fmt(d.get("x_forwarder_overhead"), "x"),
                _fmt(b.get("rps")),
                _fmt(b.get("p50_ms")),
                _fmt(b.get("p99_ms")),
                _fmt(d.get("p99_over_p50")),
                _fmt(d.get("pct_forwarder_rps"), "%"),
                _fmt(d.get("cpu_us_per_ok")),
                _fmt(b.get("upstream_calls_per_ok")),
            ]
        )
    print(table(headers, out))


def print_ratios(rows: list[dict[str, Any]], lat: int, tput: int) -> list[str]:
    lines = []
    for row in rows:
        d = row.get("derived", {})
        if row["kind"] != "service" or row.get("skipped"):
            continue
        name = f"{row['target']} {row['path']}"
        parts = []
        if "x_forwarder_overhead" in d:
            parts.append(
                f"overhead {d['overhead_ms']:+.2f} ms = {d['x_forwarder_overhead']}x the forwarder's"
            )
        if "pct_forwarder_rps" in d:
            parts.append(f"req/s at c={tput} {d['pct_forwarder_rps']}% of the forwarder's")
        if "p99_over_p50" in d:
            parts.append(f"p99/p50 at c={tput} {d['p99_over_p50']} (target <= 3)")
        if "upstream_x_faster" in d:
            cheaper = d.get("upstream_x_cheaper")
            parts.append(
                f"the upstream alone is {d['upstream_x_faster']}x faster in req/s"
                + (f" and {cheaper}x cheaper in CPU per request" if cheaper else "")
                + " (want >= 20x)"
            )
        if row["path"] in TARGETS:
            parts.append(f"target: {TARGETS[row['path']]}")
        vs = d.get("vs_baseline")
        if vs:
            parts.append(
                f"vs {vs['baseline']}: p50 at c={lat} {vs['p50_delta_ms']:+.2f} ms, req/s at c={tput} "
                f"{_fmt(vs['rps_ratio'], 'x')}"
            )
        lines.append(f"- {name}: " + "; ".join(parts))
    print("\n".join(lines))
    return lines


def run_json(args: argparse.Namespace, services: list[Service], tmp: Path) -> dict[str, Any]:
    lat, tput = args.concurrency[0], args.concurrency[-1]
    commands: dict[str, Any] = {}
    startup: dict[str, float] = {}
    skipped: list[str] = []
    pairs: list[tuple[Target, dict[str, Any]]] = []
    with contextlib.ExitStack() as stack:
        up = start_upstream(tmp / "upstream", args.tokens, args.token_delay_ms)
        stack.callback(harness.stop, up)
        upstream_port_pid[up.port] = up.pid
        commands["upstream"] = up.proc.args
        ng = None
        if not args.no_nginx:
            try:
                ng = nginx.start(tmp / "nginx")
                stack.callback(harness.stop, ng, 5)
                commands["nginx"] = ng.proc.args
            except nginx.Missing as exc:
                print(f"nginx: {exc}")
                skipped.append(f"nginx: {exc}")
        fwd = start_forwarder(tmp / "forwarder", up.url)
        stack.callback(harness.stop, fwd)
        commands["forwarder"] = fwd.proc.args
        chat = "/v1/chat/completions"
        targets = [Target("direct", "upstream", up.url, p, up.pid, "direct", p) for p in args.upstream_paths]
        if ng is not None:
            targets.append(Target("nginx", "nginx", ng.url, chat, ng.pid, "nginx", chat))
        targets += [
            Target("forwarder", "forwarder", fwd.url, p, fwd.pid, "direct", p) for p in args.upstream_paths
        ]
        if ng is not None:
            fwd_ng = start_forwarder(tmp / "forwarder-nginx", ng.url)
            stack.callback(harness.stop, fwd_ng)
            commands["forwarder>nginx"] = fwd_ng.proc.args
            targets.append(
                Target("forwarder>nginx", "forwarder", fwd_ng.url, chat, fwd_ng.pid, "nginx", chat)
            )
        print(
            f"references: upstream {up.url}, nginx {ng.url if ng else '-'}, forwarder {fwd.url}", flush=True
        )
        for service in services:  # all started up front (idle while others are measured): rounds interleave
            where = f", checkout {service.checkout}" if service.checkout else ""
            print(f"service {service.label} ({', '.join(service.presets) or 'custom'}{where})", flush=True)
            try:
                svc = start_service(tmp / service.label, service, up.url, {})
            except RuntimeError as exc:
                message = f"{service.label}: did not start: {str(exc)[-1500:]}"
                print("  " + message)
                skipped.append(message)
                continue
            stack.callback(harness.stop, svc)
            startup[service.label] = round(svc.ready_after_s, 3)
            commands[service.label] = {
                "argv": svc.proc.args,
                "checkout": str(service.checkout or harness.REPO),
                "env": _masked({k: v.replace("{upstream}", up.url) for k, v in service.env.items()}),
            }
            print(f"  ready after {svc.ready_after_s:.2f} s (pid {svc.pid})", flush=True)
            for path in service.paths:
                targets.append(
                    Target(
                        service.label,
                        "service",
                        svc.url,
                        path,
                        svc.pid,
                        "direct",
                        ref_path(path, service),
                        service.model,
                        service.baseline,
                    )
                )
        pairs = [(t, new_row(t)) for t in targets]
        live = [(t, row) for t, row in pairs if probe_target(t, row)]
        for round_no in range(args.rounds):
            if args.rounds > 1:
                print(f"round {round_no + 1} of {args.rounds}", flush=True)
            for target, row in live:
                measure_round(target, row, args, up.port, warm=round_no == 0)
        for target, row in pairs:
            aggregate(row)
            if target.kind == "service":
                row["rss_mib"] = round(procfs.rss_mib(target.pid), 1)
    rows = derive([row for _, row in pairs], lat, tput)
    print()
    print_table(rows, lat, tput)
    print()
    lines = print_ratios(rows, lat, tput)
    if startup:
        print("ready after (s): " + ", ".join(f"{k} {v}" for k, v in startup.items()))
    for message in skipped:
        print(f"skipped: {message.splitlines()[0]} ...")
    generators = sorted({c["generator"] for r in rows for c in r.get("levels", {}).values()})
    rounds = f", median of {args.rounds} interleaved rounds" if args.rounds > 1 else ""
    print(
        f"load generator: {', '.join(generators) or '-'}{rounds}; "
        + results.CPU_NOTE.format(cpus=os.cpu_count())
    )
    return {
        "rows": rows,
        "ratios": lines,
        "startup_s": startup,
        "commands": commands,
        "skipped": skipped,
        "load_generators": generators,
    }


# --- SSE -------------------------------------------------------------------------------------------------


def run_sse(args: argparse.Namespace, services: list[Service], tmp: Path) -> dict[str, Any]:
    wanted = [t.strip() for t in args.sse_targets.split(",")] if args.sse_targets else None
    by_label = {s.label: s for s in services}
    labels = wanted or ["direct", "forwarder", *by_label]
    unknown = [t for t in labels if t not in ("direct", "forwarder", *by_label)]
    if unknown:
        raise SystemExit(
            f"--sse-targets: unknown {', '.join(unknown)} (direct, forwarder, or a --service label)"
        )
    out: dict[str, Any] = {"targets": {}, "commands": {}}
    print(
        f"edge-sse: {args.sse} concurrent streams per target, upstream {args.tokens} pieces every "
        f"{args.token_delay_ms:g} ms, stall = gap > {args.stall_gap_s:g} s",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        up = start_upstream(tmp / "upstream", args.tokens, args.token_delay_ms)
        stack.callback(harness.stop, up)
        out["commands"]["upstream"] = up.proc.args
        for label in labels:
            path = args.sse_path or "/v1/chat/completions"
            expected: int | None = args.tokens
            if label == "direct":
                base, pid, model = up.url, up.pid, "bench-model"
            elif label == "forwarder":
                fwd = start_forwarder(tmp / "forwarder", up.url)
                stack.callback(harness.stop, fwd)
                out["commands"]["forwarder"] = fwd.proc.args
                base, pid, model = fwd.url, fwd.pid, "bench-model"
            else:
                service = by_label[label]
                path = args.sse_path or service.sse_path
                scripted = service.env.get("SWITCHBOARD_PROVIDERS", "scripted") == "scripted"
                extra = {"SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": f"{args.token_delay_ms:g}"}
                probe_file = tmp / f"probe-{label}.json"
                if args.probe:  # ops/bench/loop_probe.py: the loop's lag and I/O every 20 ms
                    repo = service.checkout or harness.REPO
                    extra |= {
                        "PYTHONPATH": f"{harness.REPO / 'ops/bench/loop_probe_site'}{os.pathsep}{repo}",
                        "BENCH_LOOP_PROBE": str(probe_file),
                    }
                expected = SCRIPTED_DELTAS if scripted and path == "/v1/chat/stream" else args.tokens
                try:
                    svc = start_service(tmp / f"sse-{label}", service, up.url, extra)
                except RuntimeError as exc:
                    print(f"{label}: did not start: {str(exc)[:1500]}")
                    out["targets"][label] = {"skipped": str(exc)[:1500]}
                    continue
                stack.callback(harness.stop, svc)
                out["commands"][label] = {"argv": svc.proc.args, "env": _masked(service.env)}
                base, pid, model = svc.url, svc.pid, service.model
            protocol = sse_load.protocol_for(path)
            body = sse_load.request_body(protocol, model)
            status, answer = probe(base + path, body, sse_load.request_headers(protocol))
            if status != 200:
                reason = (
                    "route not there (404)" if status == 404 else f"probe answered {status}: {answer[:200]!r}"
                )
                print(f"{label} {path}: skipped, {reason}")
                out["targets"][label] = {"path": path, "skipped": reason}
                continue
            print(f"{label} {path} ({protocol}) ...", flush=True)
            upstream_stats(up.port)  # resets the upstream's own lag record
            result = sse_load.measure(
                base + path,
                protocol,
                args.sse,
                pid=pid,
                warmup=min(20, args.sse),
                body=body,
                stall_gap_s=args.stall_gap_s,
                stream_timeout_s=args.stream_timeout_s,
                expected_deltas=expected,
            )
            result["path"] = path
            # the reference upstream's own stalls (its one ticker running late), so that a gap the client
            # sees can be told apart from one the target caused
            result["upstream_max_tick_lag_ms"] = upstream_stats(up.port).get("max_tick_lag_ms")
            out["targets"][label] = result
            if label not in ("direct", "forwarder"):
                harness.stop(svc)  # one service at a time (its stack callback is then a no-op)
                if args.probe and probe_file.exists():
                    timeline = msgspec.json.decode(probe_file.read_bytes())
                    result["probe"] = loop_probe.summary(timeline)
                    result["probe_timeline"] = timeline
    measured = {k: v for k, v in out["targets"].items() if "summary" in v}
    if measured:
        names = list(measured)
        # targets can have different rows (e.g. "where stalled streams stalled" only where some did)
        by_name = {n: dict(sse_load.rows(measured[n])) for n in names}
        for n in names:
            by_name[n]["upstream: latest tick, late by (ms)"] = measured[n].get("upstream_max_tick_lag_ms")
            probed = measured[n].get("probe")
            if probed:
                by_name[n]["probe: loop lag max (ms) / time above 100 ms (s)"] = (
                    f"{probed['max_lag_ms']:g} / {probed['lag_over_100ms_s']:g}"
                )
                by_name[n]["probe: longest busy stretch with no upstream read (s)"] = probed[
                    "longest_busy_read_pause_s"
                ]
        metrics = list(dict.fromkeys(m for n in names for m in by_name[n]))
        print(table(["metric", *names], [[m, *(by_name[n].get(m, "-") for n in names)] for m in metrics]))
    print("note: " + results.CPU_NOTE.format(cpus=os.cpu_count()))
    return out


# --- main ------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bench edge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="presets: " + "; ".join(f"{k}: {v.note}" for k, v in PRESETS.items()),
    )
    parser.add_argument(
        "--service", action="append", type=parse_service, default=None, metavar="LABEL[=ITEM,...]"
    )
    parser.add_argument("--old-checkout", type=Path, help="another checkout (own .venv) to compare with")
    parser.add_argument("--old-presets", default="openai-chat", help="presets also run from --old-checkout")
    parser.add_argument("--concurrency", type=_levels, default=[1, 32])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per cell (cap)")
    parser.add_argument("--max-seconds", type=float, default=10.0, help="time cap per cell")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per cell (<= 5 s)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every target this many times, interleaved; report medians",
    )
    parser.add_argument("--loadgen", choices=load.GENERATORS, default="auto")
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument(
        "--upstream-paths",
        type=lambda t: [p for p in t.split(",") if p],
        default=["/v1/chat/completions", "/v1/messages"],
        help="paths measured direct and through the forwarder",
    )
    parser.add_argument("--tokens", type=int, default=50, help="upstream pieces per stream")
    parser.add_argument("--token-delay-ms", type=float, default=20.0, help="upstream pacing")
    parser.add_argument(
        "--sse", type=int, default=0, metavar="N", help="SSE mode: N concurrent streams per target"
    )
    parser.add_argument(
        "--sse-targets", help="comma-separated: direct, forwarder, service labels (default all)"
    )
    parser.add_argument(
        "--sse-path", help="path for every SSE target (default: chat completions / the service's)"
    )
    parser.add_argument("--stall-gap-s", type=float, default=sse_load.STALL_GAP_S)
    parser.add_argument(
        "--probe",
        action="store_true",
        help="SSE mode: probe each service's event loop (lag, upstream reads, sends; ops/bench/loop_probe.py)",
    )
    parser.add_argument("--stream-timeout-s", type=float, default=sse_load.STREAM_TIMEOUT_S)
    return parser


def resolve_services(args: argparse.Namespace) -> list[Service]:
    services = args.service or [parse_service(s) for s in DEFAULT_SERVICES]
    if args.old_checkout:
        old = args.old_checkout.expanduser().resolve()
        for preset in [p.strip() for p in args.old_presets.split(",") if p.strip()]:
            if preset not in PRESETS:
                raise SystemExit(f"--old-presets: unknown preset {preset!r}")
            label = f"old-{preset}"
            services.append(parse_service(f"{label}={preset},checkout={old},path=/v1/chat"))
            for s in services:
                if preset in s.presets and s.checkout is None and s.baseline is None:
                    s.baseline = label
    labels = [s.label for s in services]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"--service labels must be unique: {labels}")
    return services


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    services = resolve_services(args)
    harness.exit_on_sigterm()
    sse_load.raise_nofile()  # children inherit it
    name = "edge-sse" if args.sse else "edge"
    load_start = load.loadavg()
    started = time.perf_counter()
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "service"}
    params["services"] = [
        {
            "label": s.label,
            "presets": s.presets,
            "env": _masked(s.env),
            "paths": s.paths,
            "sse_path": s.sse_path,
            "checkout": str(s.checkout) if s.checkout else None,
            "baseline": s.baseline,
            "model": s.model,
        }
        for s in services
    ]
    if not args.sse:
        print(
            f"{name}: load generator {load.choose(args.loadgen)}, levels {args.concurrency}, "
            f"<= {args.requests} requests or {args.max_seconds:g} s per cell, {args.rounds} round(s), "
            f"load average {load_start}",
            flush=True,
        )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
            payload = run_sse(args, services, Path(tmp)) if args.sse else run_json(args, services, Path(tmp))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"edge: {exc}", file=sys.stderr)
        return 1
    payload = {
        "params": params,
        "loadavg_start": load_start,
        "loadavg_end": load.loadavg(),
        "wall_s": round(time.perf_counter() - started, 1),
        **payload,
    }
    results.write(name, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
