"""Benchmark: ``POST /v1/chat`` through the OpenAI provider (Agents SDK -> mock upstream) vs ``scripted``.

``python -m ops.bench.openai_path [--requests 400] [--max-seconds 15] [--concurrency 1,32]``

Starts, as subprocesses on free 127.0.0.1 ports, the mock upstream (``python -m ops.mock_upstream``, no
latency, no token delay) and the service (``python -m ops serve``, one worker, SQLite under a temporary
directory, log level WARNING) with three provider instances: ``scripted`` (offline), ``openai`` (kind
openai, Responses API) and ``local`` (kind openai, Chat Completions API), both on the mock. Then, for each
provider and each concurrency, it sends a few warm-up requests and measures up to ``--requests`` requests
(stopping early after ``--max-seconds``): a new one-turn conversation per request, so history stays empty
and every request costs the same. Reports requests/s (completed / wall time), p50 and p99 latency, and
errors. Both processes are always stopped. Nothing leaves 127.0.0.1.

The load generator (httpx) runs in this process on the same machine: on a small machine it competes with
the service and the mock for CPU, so read the numbers as relative (OpenAI path vs scripted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
API_KEY = "bench-key"
PROVIDERS = {"scripted": "offline", "openai": "responses", "local": "chat_completions"}
MESSAGE = "hello benchmark, please answer this short message"


@dataclass
class Result:
    provider: str
    api: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def running_stack(tmp: Path, startup_timeout_s: float = 60.0) -> Iterator[str]:
    """The mock and the service as subprocesses; yields the service's base URL; always stops both."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SWITCHBOARD_", "OPENAI_", "DATABASE_URL", "REDIS_URL"))
    }
    base |= {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def spawn(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        out, err = tmp / f"{name}.out", tmp / f"{name}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=tmp,
                env=env,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
            )
        procs.append((name, proc, err))
        return proc

    def failure(name: str, proc: subprocess.Popen[bytes], what: str) -> RuntimeError:
        err = (tmp / f"{name}.err").read_text(errors="replace")[-3000:]
        return RuntimeError(f"{name} {what} (exit code {proc.poll()}):\n{err}")

    try:
        deadline = time.monotonic() + startup_timeout_s
        mock = spawn("mock", ["-m", "ops.mock_upstream", "--port", "0"], base)
        mock_url = ""
        while not mock_url:
            line = next(
                (x for x in (tmp / "mock.out").read_text().splitlines() if x.startswith("listening on ")), ""
            )
            mock_url = line.removeprefix("listening on ").strip()
            if mock.poll() is not None or time.monotonic() > deadline:
                raise failure("mock", mock, "did not start")
            time.sleep(0.05)
        port = _free_port()
        env = base | {
            "SWITCHBOARD_ENV": "test",
            "SWITCHBOARD_API_KEYS": f"{API_KEY}:bench:chat",
            "SWITCHBOARD_VAR_DIR": str(tmp / "var"),
            "SWITCHBOARD_AGENTS_FILE": str(REPO / "config/agents.toml"),
            "SWITCHBOARD_GUARDRAILS_FILE": str(REPO / "config/guardrails.toml"),
            "SWITCHBOARD_WORKERS": "1",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_LOG_FORMAT": "json",
            "SWITCHBOARD_PROVIDERS": ",".join(PROVIDERS),
            "OPENAI_API_KEY": "sk-bench-not-real",
            "OPENAI_BASE_URL": f"{mock_url}/v1",
            "SWITCHBOARD_PROVIDER_LOCAL_KIND": "openai",
            "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL": f"{mock_url}/v1",
            "SWITCHBOARD_PROVIDER_LOCAL_API_MODE": "chat_completions",
        }
        service = spawn("service", ["-m", "ops", "serve", "--host", "127.0.0.1", "--port", str(port)], env)
        url = f"http://127.0.0.1:{port}"
        while True:
            if service.poll() is not None or time.monotonic() > deadline:
                raise failure("service", service, "did not become ready")
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        for _, proc, _ in reversed(procs):
            _stop(proc)


async def _measure(
    client: httpx.AsyncClient, provider: str, concurrency: int, count: int, max_seconds: float
) -> tuple[list[float], int, float]:
    body = {"message": MESSAGE, "provider": provider}
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal issued, errors
        while issued < count and time.perf_counter() < deadline:
            issued += 1
            started = time.perf_counter()
            try:
                response = await client.post("/v1/chat", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


async def run(
    url: str, providers: list[str], levels: list[int], count: int, max_seconds: float
) -> list[Result]:
    results: list[Result] = []
    limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels))
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        for provider in providers:
            await _measure(client, provider, min(8, max(levels)), 24, 10)  # warm-up: connections, SDK
            for level in levels:
                latencies, errors, seconds = await _measure(client, provider, level, count, max_seconds)
                latencies.sort()
                done = len(latencies)
                results.append(
                    Result(
                        provider=provider,
                        api=PROVIDERS[provider],
                        concurrency=level,
                        requests=done,
                        errors=errors,
                        seconds=round(seconds, 2),
                        rps=round(done / seconds, 1) if seconds else 0.0,
                        p50_ms=round(_percentile(latencies, 0.50) * 1000, 1),
                        p99_ms=round(_percentile(latencies, 0.99) * 1000, 1),
                        mean_ms=round(sum(latencies) / done * 1000, 1) if done else float("nan"),
                    )
                )
                print(_row(results[-1]), flush=True)
    return results


HEADER = f"{'provider':<9} {'api':<17} {'conc':>4} {'reqs':>5} {'errs':>4} {'secs':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}"


def _row(r: Result) -> str:
    return (
        f"{r.provider:<9} {r.api:<17} {r.concurrency:>4} {r.requests:>5} {r.errors:>4} {r.seconds:>6.2f} "
        f"{r.rps:>7.1f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bench.openai_path", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=400, help="measured requests per scenario (max)")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="time cap per scenario")
    parser.add_argument("--concurrency", default="1,32", help="comma-separated concurrency levels")
    parser.add_argument("--providers", default=",".join(PROVIDERS), help="subset of: " + ", ".join(PROVIDERS))
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    providers = [p for p in args.providers.split(",") if p]
    unknown = sorted(set(providers) - set(PROVIDERS))
    if unknown:
        print(f"unknown provider(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    levels = [int(c) for c in args.concurrency.split(",") if c]
    with tempfile.TemporaryDirectory(prefix="bench-openai-") as tmp, running_stack(Path(tmp)) as url:
        print(
            f"service {url} (1 worker), POST /v1/chat, up to {args.requests} requests / {args.max_seconds} s each"
        )
        print(HEADER, flush=True)
        results = asyncio.run(run(url, providers, levels, args.requests, args.max_seconds))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
