"""Micro-benchmark: the service's own cost per request, in-process, with no socket and no HTTP parser.

``uv run python -m ops.bench.asgi [--provider scripted|openai] [--requests 3000] [--rounds 3]
[--profile out.txt] [--profile-row "POST /v1/chat/stream"]``

The app (memory store, one configured key; the offline ``scripted`` provider with no token delay, or with
``--provider openai`` the ``openai`` kind in Chat Completions mode over the mock upstream, run as a child
process so that the CPU measured is this process's alone) is built as ``switchboard serve`` builds it and
driven through its ASGI callable: each request is a scope, one body
message and a ``send`` that collects the response. What remains is exactly what the service does for a
request: middleware, auth, body decoding, dependency resolution, the service, the store, encoding. Because
nothing crosses a socket, CPU time per request is steady even on a busy machine, which makes this the
A/B tool for changes on the request path (run it before and after, same machine, same minute).

Rows: ``GET /health/live`` (the floor: routing and middleware), ``POST /v1/chat``,
``POST /v1/chat/completions`` (JSON), ``POST /v1/chat/stream`` and ``POST /v1/chat/completions`` with
``stream: true`` (each stream read to the end). The message asks for a 50-piece answer (the mock streams
one piece per word of its answer; the offline provider too). Per row: the median over ``--rounds`` of wall
and CPU microseconds per request. ``--profile FILE`` runs one more round of ``--profile-row`` under
cProfile and writes the top functions by cumulative and by own time. Writes ``var/bench/asgi[-openai].json``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec

from backend.app import create_app
from backend.settings import load_settings
from ops.bench import results
from ops.bench.harness import REPO

KEY = "bench-asgi-key"
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Row:
    row: str
    requests: int
    wall_us: float
    cpu_us: float


MESSAGE = " ".join(["word"] * 47)
"""The mock answers "Mock answer to: <message>", one piece per word: 50 pieces."""


def _settings(var_dir: Path, upstream: str | None, extra: dict[str, str] | None = None) -> Any:
    env = {
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_VAR_DIR": str(var_dir),
        "SWITCHBOARD_API_KEYS": f"{KEY}:bench:chat",
        "SWITCHBOARD_AGENTS_FILE": str(REPO / "config/agents.toml"),
        "SWITCHBOARD_GUARDRAILS_FILE": str(REPO / "config/guardrails.toml"),
        "SWITCHBOARD_SESSION_STORE": "memory",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_LOG_FORMAT": "json",
        "SWITCHBOARD_RATE_LIMIT_RPM": "0",
        "SWITCHBOARD_RATE_LIMIT_TPM": "0",
    }
    if upstream is not None:
        env |= {
            "SWITCHBOARD_PROVIDERS": "openai",
            "SWITCHBOARD_PROVIDER_OPENAI_BASE_URL": f"{upstream}/v1",
            "SWITCHBOARD_PROVIDER_OPENAI_API_MODE": "chat_completions",
            "OPENAI_API_KEY": "bench-upstream-key",
        }
    return load_settings(env | (extra or {}), dotenv=None)


class Upstream:
    """``python -m ops.mock_upstream`` on a free 127.0.0.1 port, as a child process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.mock_upstream", "--port", "0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.close()
            raise RuntimeError(f"the mock upstream did not start: {line!r}")
        self.url = line.removeprefix("listening on ").rstrip("/")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Driver:
    """Calls an ASGI app the way a server would, without a socket."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        headers = [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    async def lifespan(self) -> Callable[[], Awaitable[None]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        started, stopped = asyncio.Event(), asyncio.Event()
        await queue.put({"type": "lifespan.startup"})

        async def send(message: dict[str, Any]) -> None:
            if message["type"].startswith("lifespan.startup"):
                if message["type"] != "lifespan.startup.complete":
                    raise RuntimeError(f"the app did not start: {message}")
                started.set()
            elif message["type"].startswith("lifespan.shutdown"):
                stopped.set()

        task = asyncio.create_task(
            self.app({"type": "lifespan", "asgi": {"version": "3.0"}}, queue.get, send)
        )
        await started.wait()

        async def stop() -> None:
            await queue.put({"type": "lifespan.shutdown"})
            await stopped.wait()
            await task

        return stop


def _rows(model: str) -> dict[str, tuple[str, str, bytes]]:
    chat = msgspec.json.encode({"message": MESSAGE})
    completions = {"model": model, "messages": [{"role": "user", "content": MESSAGE}]}
    return {
        "GET /health/live": ("GET", "/health/live", b""),
        "POST /v1/chat": ("POST", "/v1/chat", chat),
        "POST /v1/chat/completions": ("POST", "/v1/chat/completions", msgspec.json.encode(completions)),
        "POST /v1/chat/stream": ("POST", "/v1/chat/stream", chat),
        "POST /v1/chat/completions stream": (
            "POST",
            "/v1/chat/completions",
            msgspec.json.encode({**completions, "stream": True}),
        ),
    }


async def _measure(driver: Driver, call: tuple[str, str, bytes], requests: int) -> tuple[float, float]:
    method, path, body = call
    for _ in range(min(200, requests)):
        status, answer = await driver.request(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {answer[:300]!r}")
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        await driver.request(method, path, body)
    return (time.perf_counter() - wall) / requests * 1e6, (time.process_time() - cpu) / requests * 1e6


async def run(
    requests: int, rounds: int, upstream: str | None, profile_row: str | None
) -> tuple[list[Row], str]:
    calls = _rows("scripted" if upstream is None else "openai")
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-asgi-") as var:
        driver = Driver(create_app(_settings(Path(var), upstream)))
        stop = await driver.lifespan()
        try:
            measured: dict[str, list[tuple[float, float]]] = {}
            report = ""
            for _ in range(rounds):
                for name, call in calls.items():
                    measured.setdefault(name, []).append(await _measure(driver, call, requests))
            if profile_row is not None:
                profiler = cProfile.Profile()
                profiler.enable()
                await _measure(driver, calls[profile_row], requests)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("cumulative").print_stats(70)
                stats.sort_stats("tottime").print_stats(40)
                report = out.getvalue()
        finally:
            await stop()
    rows = [
        Row(
            name,
            requests,
            round(statistics.median(w for w, _ in values), 1),
            round(statistics.median(c for _, c in values), 1),
        )
        for name, values in measured.items()
    ]
    return rows, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.asgi", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per row and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--provider", choices=("scripted", "openai"), default="scripted")
    parser.add_argument("--profile", type=Path, help="write a cProfile of --profile-row to this file")
    parser.add_argument("--profile-row", default="POST /v1/chat", choices=list(_rows("m")))
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be >= 1")
    upstream = Upstream() if args.provider == "openai" else None
    try:
        rows, report = asyncio.run(
            run(
                args.requests,
                args.rounds,
                upstream.url if upstream else None,
                args.profile_row if args.profile else None,
            )
        )
    finally:
        if upstream is not None:
            upstream.close()
    if args.profile is not None:
        args.profile.write_text(report)
    print(
        f"in-process cost per request ({args.provider}), median of {args.rounds} rounds x {args.requests} requests"
    )
    print(f"{'row':<36} {'wall us':>9} {'cpu us':>9}")
    for row in rows:
        print(f"{row.row:<36} {row.wall_us:>9.1f} {row.cpu_us:>9.1f}")
    name = "asgi" if args.provider == "scripted" else f"asgi-{args.provider}"
    results.write(name, {"provider": args.provider, "rows": [asdict(r) for r in rows]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
