"""``sse``: many concurrent Server-Sent Event streams on ``POST /v1/chat/stream``.

The service runs with ``SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS=20``; the message has 48 words, and
the offline provider answers ``You said: <message>`` one word per ``text.delta``, so every stream carries
50 deltas (>= 1 s of token delays) plus ``run.started``, ``usage`` and ``run.completed``. All streams are
opened at once from one event loop (aiohttp, no connection limit) after a small warm-up.

Per stream: time to first byte (response headers), time to the first ``text.delta``, total time (until the
server closes the stream), number of ``text.delta`` events, the terminal events. Classification, one per
stream: ``ok`` = 200, exactly one terminal event, ``run.completed``, last, no gap > 2 s; ``stalled`` = a gap
between consecutive frames (from the response headers on) > 2 s, or not finished within 60 s; ``failed`` =
anything else (non-200, transport error, ``run.failed``, no or several terminal events).
The service's RSS (process tree) is sampled every 100 ms from /proc; VmHWM is reported too.

The client parses minimally: it never decodes JSON, it splits the byte stream at frame boundaries and counts
``event:`` lines. It shares the machine's CPUs with the service; its CPU time is reported.
"""

from __future__ import annotations

import asyncio
import collections
import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from ops.bench import harness, procfs, results, stores
from ops.bench.stats import ms, percentile, table

# 48 plain words: no "time", "search", "transfer to", "what did i say" or digits, so no tool runs
_TEXT = (
    "please repeat these words back so that the stream carries fifty tokens in total for this benchmark "
    "of many concurrent server sent event streams on a small machine while we measure the first byte the "
    "first delta the whole duration and the memory of the service under load on a quiet afternoon"
)
MESSAGE = " ".join(_TEXT.split()[:48])
EXPECTED_DELTAS = 50  # "You ", "said: " and the 48 words
TOKEN_DELAY_MS = 20
STALL_GAP_S = 2.0
STREAM_TIMEOUT_S = 60.0
_DELTA = b"event: text.delta\n"
_COMPLETED = b"event: run.completed\n"
_FAILED = b"event: run.failed\n"
_EVENT = b"event: "


@dataclass
class Stream:
    status: int = 0
    ttfb_s: float = float("nan")
    first_delta_s: float = float("nan")
    total_s: float = float("nan")
    deltas: int = 0
    completed: int = 0
    failed: int = 0
    terminal_last: bool = False
    max_gap_s: float = 0.0
    max_gap_after: int = 0  # text.delta events received before the largest gap
    timed_out: bool = False
    error: str = ""

    @property
    def outcome(self) -> str:
        if self.timed_out or self.max_gap_s > STALL_GAP_S:
            return "stalled"
        clean = self.status == 200 and self.completed == 1 and self.failed == 0 and self.terminal_last
        return "ok" if clean and not self.error else "failed"


def raise_nofile() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (the service, started afterwards, inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


async def _consume(response: aiohttp.ClientResponse, stream: Stream, t0: float) -> None:
    buffer = b""
    last = time.perf_counter()
    async for chunk in response.content.iter_any():
        now = time.perf_counter()
        buffer += chunk
        end = buffer.rfind(b"\n\n")
        if end < 0:
            continue
        frames, buffer = buffer[: end + 2], buffer[end + 2 :]
        if now - last > stream.max_gap_s:
            stream.max_gap_s, stream.max_gap_after = now - last, stream.deltas
        last = now
        deltas = frames.count(_DELTA)
        if deltas and not stream.deltas:
            stream.first_delta_s = now - t0
        stream.deltas += deltas
        completed, failed = frames.count(_COMPLETED), frames.count(_FAILED)
        if completed or failed:
            stream.completed += completed
            stream.failed += failed
            last_event = frames.rfind(_EVENT)
            stream.terminal_last = frames.startswith((_COMPLETED, _FAILED), last_event)
        elif stream.terminal_last and _EVENT in frames:
            stream.terminal_last = False  # an event after the terminal one


async def _one(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> Stream:
    stream = Stream()
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(STREAM_TIMEOUT_S):
            async with session.post(url, data=body, headers=headers) as response:
                stream.status = response.status
                stream.ttfb_s = time.perf_counter() - t0
                if response.status == 200:
                    await _consume(response, stream, t0)
                else:
                    problem = await response.read()
                    stream.error = (
                        str(msgspec.json.decode(problem).get("code", "")) if problem[:1] == b"{" else ""
                    )
        stream.total_s = time.perf_counter() - t0
    except TimeoutError:
        stream.timed_out = True
    except aiohttp.ClientError as exc:
        stream.error = type(exc).__name__
    return stream


async def _load(service: harness.Service, count: int, warmup: int) -> dict[str, Any]:
    url = f"{service.url}/v1/chat/stream"
    body = msgspec.json.encode({"message": MESSAGE})
    headers = {**harness.AUTH_HEADER, "Content-Type": "application/json", "Accept": "text/event-stream"}
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup:
            await asyncio.gather(*(_one(session, url, body, headers) for _ in range(warmup)))
        rss_before = procfs.rss_mib(service.pid)
        server_cpu, client_cpu = procfs.cpu_seconds(service.pid), procfs.self_cpu_seconds()
        with procfs.RssSampler(service.pid, 0.1) as sampler:
            started = time.perf_counter()
            streams = await asyncio.gather(*(_one(session, url, body, headers) for _ in range(count)))
            wall = time.perf_counter() - started
        return {
            "streams": streams,
            "wall_s": wall,
            "rss_before_mib": rss_before,
            "rss_peak_mib": sampler.peak,
            "rss_samples": len(sampler.samples),
            "hwm_mib": procfs.hwm_mib(service.pid),
            "server_cpu_s": procfs.cpu_seconds(service.pid) - server_cpu,
            "client_cpu_s": procfs.self_cpu_seconds() - client_cpu,
        }


def _position(stream: Stream) -> str:
    if stream.timed_out:
        return "timed out"
    if stream.max_gap_after == 0:
        return "before the first delta"
    return "before the terminal event" if stream.max_gap_after >= EXPECTED_DELTAS else "between deltas"


def _summary(streams: list[Stream]) -> dict[str, Any]:
    outcomes = collections.Counter(s.outcome for s in streams)
    done = [s for s in streams if s.outcome == "ok"]

    def pct(attr: str, fraction: float) -> float:
        values = sorted(getattr(s, attr) for s in done)
        return ms(percentile(values, fraction))

    return {
        "ok": outcomes["ok"],
        "failed": outcomes["failed"],
        "stalled": outcomes["stalled"],
        "timed_out": sum(s.timed_out for s in streams),
        "non_200": collections.Counter(
            f"{s.status} {s.error}".strip() for s in streams if s.status not in (0, 200)
        ),
        "transport_errors": collections.Counter(s.error for s in streams if s.error and not s.status),
        "stall_position": collections.Counter(_position(s) for s in streams if s.outcome == "stalled"),
        "exactly_one_terminal": sum(s.completed + s.failed == 1 and s.terminal_last for s in streams),
        "deltas_min": min((s.deltas for s in streams), default=0),
        "deltas_max": max((s.deltas for s in streams), default=0),
        "deltas_expected": EXPECTED_DELTAS,
        "max_gap_ms": ms(max((s.max_gap_s for s in streams), default=0.0)),
        **{
            f"{k}_p{int(f * 100)}_ms": pct(attr, f)
            for k, attr in (("ttfb", "ttfb_s"), ("first_delta", "first_delta_s"), ("total", "total_s"))
            for f in (0.5, 0.99)
        },
    }


def run(streams: int = 1000, warmup: int = 20, store: str = "sqlite") -> dict[str, Any]:
    name = "sse" if store == "sqlite" else f"sse-{store}"
    soft, hard = raise_nofile()
    print(
        f"sse: {streams} concurrent streams, POST /v1/chat/stream, {EXPECTED_DELTAS} deltas each, "
        f"token delay {TOKEN_DELAY_MS} ms, store {store} (RLIMIT_NOFILE {soft}/{hard})"
    )
    params = {
        "streams": streams,
        "warmup": warmup,
        "store": store,
        "token_delay_ms": TOKEN_DELAY_MS,
        "words": len(MESSAGE.split()),
        "stall_gap_s": STALL_GAP_S,
        "stream_timeout_s": STREAM_TIMEOUT_S,
        "rlimit_nofile": [soft, hard],
    }
    try:
        extra = stores.prepare(store)
    except stores.Skip as skip:
        print(f"skipped: {skip}")
        skipped: dict[str, Any] = {"params": params, "skipped": str(skip)}
        results.write(name, skipped)
        return skipped
    extra["SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS"] = str(TOKEN_DELAY_MS)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sse-") as tmp:
            env = harness.service_env(Path(tmp) / "var", extra)
            with harness.running(Path(tmp) / "service", env) as service:
                load = asyncio.run(_load(service, streams, warmup))
    finally:
        stores.cleanup(store)
    summary = _summary(load["streams"])
    rows = [
        ["streams ok / failed / stalled", f"{summary['ok']} / {summary['failed']} / {summary['stalled']}"],
        ["exactly one terminal event, last", summary["exactly_one_terminal"]],
        [
            "text.delta per stream (min-max)",
            f"{summary['deltas_min']}-{summary['deltas_max']} (expect {EXPECTED_DELTAS})",
        ],
        ["time to first byte p50 / p99 (ms)", f"{summary['ttfb_p50_ms']} / {summary['ttfb_p99_ms']}"],
        [
            "first text.delta p50 / p99 (ms)",
            f"{summary['first_delta_p50_ms']} / {summary['first_delta_p99_ms']}",
        ],
        ["total duration p50 / p99 (ms)", f"{summary['total_p50_ms']} / {summary['total_p99_ms']}"],
        ["largest gap between frames (ms)", summary["max_gap_ms"]],
        [
            "where stalled streams stalled",
            ", ".join(f"{k}: {v}" for k, v in summary["stall_position"].items()) or "-",
        ],
        ["wall time, all streams (s)", f"{load['wall_s']:.2f}"],
        ["service RSS before / peak (MiB)", f"{load['rss_before_mib']:.1f} / {load['rss_peak_mib']:.1f}"],
        ["service VmHWM (MiB)", f"{load['hwm_mib']:.1f}"],
        ["CPU s service / client", f"{load['server_cpu_s']:.1f} / {load['client_cpu_s']:.1f}"],
    ]
    if summary["non_200"] or summary["transport_errors"]:
        rows.append(["errors", f"{dict(summary['non_200'])} {dict(summary['transport_errors'])}"])
    print(table(["metric", "value"], rows))
    print("note: " + results.CPU_NOTE.format(cpus=results.machine()["cpus"]))
    payload = {
        "params": params,
        "summary": summary,
        **{k: round(v, 3) for k, v in load.items() if isinstance(v, float)},
        "rss_samples": load["rss_samples"],
        "per_stream_sample": [asdict(s) for s in load["streams"][:5]],
    }
    results.write(name, payload)
    return payload
