"""Closed-loop JSON load at a fixed concurrency: wrk (Debian's package) when installed, else a Python client.

``measure(url, body, headers, concurrency, requests, max_seconds)`` -> ``Load``: requests/s, latency
percentiles, errors, wall time, the load generator's CPU seconds, which generator ran. Bounded twice: at most
``requests`` responses (wrk: each thread stops itself at its share, counted in its Lua ``response()``) and no
new request after ``max_seconds`` (wrk ``-d``).

wrk, one thread (``-t1``; one epoll loop drives 32 connections with room to spare and leaves the other core
to the server), ``--latency``; the Lua script POSTs the body with its headers, counts responses and non-200
statuses, and notes a monotonic clock (LuaJIT FFI ``clock_gettime``) at its start and at every response, so
requests/s is responses / (last response - start) rather than wrk's own wall time (which includes the time
it sleeps after a thread stopped early; this module interrupts that sleep with SIGINT). Latency comes from
wrk's histogram (``latency:percentile``, microsecond resolution, every response including non-200s): exact
p50/p90/p99/p99.9, not just the four lines ``--latency`` prints (50/75/90/99), which are parsed as a fallback.
Like any closed-loop generator it does not correct coordinated omission (wrk2 would): at concurrency 1 a
slow response delays the next request instead of being counted against it, so p99 is of the responses seen.

Python fallback (``--loadgen python`` or no wrk): aiohttp on uvloop in this process, ``concurrency`` workers
sharing one keep-alive pool, latency of 200 responses only; much slower than wrk (it costs the server CPU on
a 2-core machine), so compare its rows only with rows made by the same generator.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ops.bench import procfs
from ops.bench.stats import percentile

GENERATORS = ("auto", "wrk", "python")
REQUEST_TIMEOUT_S = 30.0
_MARK = "WRK_LIMIT_REACHED"

_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

wrk.method = "POST"
wrk.body = [==[@BODY@]==]
@HEADERS@
local limit = @LIMIT@
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  t_start = now_us()
  t_last = t_start
  seen = 0
  non200 = 0
end

function response(status, headers, body)
  seen = seen + 1
  t_last = now_us()
  if status ~= 200 then non200 = non200 + 1 end
  if seen == limit then
    io.write("@MARK@\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local seen_all, bad, elapsed = 0, 0, 0
  for _, t in ipairs(threads) do
    seen_all = seen_all + t:get("seen")
    bad = bad + t:get("non200")
    local e = t:get("t_last") - t:get("t_start")
    if e > elapsed then elapsed = e end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"responses":%d,"non200":%d,"elapsed_us":%d,"wrk_requests":%d,"wrk_duration_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"mean_us":%.1f,"min_us":%d,"max_us":%d,' ..
    '"p50_us":%d,"p75_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    seen_all, bad, elapsed, summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency.mean, latency.min, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
"""


@dataclass
class Load:
    generator: str
    concurrency: int
    requested: int
    max_seconds: float
    ok: int = 0  # 200 responses
    errors: int = 0  # non-200 responses and transport errors
    error_kinds: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    time_capped: bool = False
    rps: float = 0.0  # 200 responses / seconds
    p50_ms: float = math.nan
    p75_ms: float = math.nan
    p90_ms: float = math.nan
    p99_ms: float = math.nan
    mean_ms: float = math.nan
    max_ms: float = math.nan
    client_cpu_s: float = 0.0
    command: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def choose(generator: str) -> str:
    """``auto`` -> ``wrk`` when installed, else ``python``; ``wrk`` without wrk -> ``python`` (said so)."""
    if generator not in GENERATORS:
        raise ValueError(f"load generator must be one of {', '.join(GENERATORS)}")
    if generator == "python":
        return "python"
    if wrk_binary() is None:
        if generator == "wrk":
            print("wrk not found (Debian: apt-get install wrk): using the Python client", flush=True)
        return "python"
    return "wrk"


def measure(
    url: str,
    body: bytes,
    headers: dict[str, str],
    concurrency: int,
    requests: int,
    max_seconds: float,
    generator: str = "auto",
) -> Load:
    """``requests`` POSTs of ``body`` to ``url`` from ``concurrency`` connections, capped at ``max_seconds``."""
    if choose(generator) == "wrk":
        return _wrk(url, body, headers, concurrency, requests, max_seconds)
    return _python(url, body, headers, concurrency, requests, max_seconds)


# --- wrk -------------------------------------------------------------------------------------------------


def _lua(body: bytes, headers: dict[str, str], limit: int) -> str:
    text = body.decode()
    if "]==]" in text:
        raise ValueError("the body cannot contain ]==] (Lua long string)")
    lines = "\n".join(f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}" for k, v in headers.items())
    return (
        _LUA.replace("@BODY@", text)
        .replace("@HEADERS@", lines)
        .replace("@LIMIT@", str(limit))
        .replace("@MARK@", _MARK)
    )


def _lua_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk(
    url: str, body: bytes, headers: dict[str, str], concurrency: int, requests: int, max_s: float
) -> Load:
    wrk = wrk_binary()
    assert wrk is not None
    result = Load("wrk", concurrency, requests, max_s)
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(_lua(body, headers, requests))
        seconds = max(1, math.ceil(max_s))
        args = [
            wrk,
            "-t1",
            f"-c{concurrency}",
            f"-d{seconds}s",
            f"--timeout={int(REQUEST_TIMEOUT_S)}s",
            "--latency",
            "-s",
            str(script),
            url,
        ]
        result.command = " ".join([*args[:-3], "-s", "post.lua", url])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines: list[str] = []
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:

            def read() -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append(line)
                    if line.startswith(_MARK) and proc.poll() is None:
                        proc.send_signal(signal.SIGINT)  # wrk: stop sleeping, collect, print

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            try:
                proc.wait(timeout=seconds + REQUEST_TIMEOUT_S + 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            reader.join(timeout=5)
            stderr = proc.stderr.read() if proc.stderr else ""
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.client_cpu_s = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    output = "".join(lines)
    summary = next((ln for ln in lines if ln.startswith("WRKJSON ")), None)
    if summary is None:
        result.note = f"wrk gave no summary (exit {proc.returncode}): {(stderr or output)[-400:]}"
        result.errors = 1
        result.error_kinds = {"wrk": 1}
        return result
    data = msgspec.json.decode(summary[len("WRKJSON ") :])
    responses, non200 = data["responses"], data["non200"]
    result.ok = responses - non200
    transport = {k: data[k] for k in ("connect", "read", "write", "timeout") if data[k]}
    result.error_kinds = {**({"non-200": non200} if non200 else {}), **transport}
    result.errors = non200 + sum(transport.values())
    result.seconds = round(data["elapsed_us"] / 1e6, 3)
    result.time_capped = responses < requests
    result.rps = round(result.ok / result.seconds, 1) if result.seconds > 0 else 0.0
    for key in ("p50", "p75", "p90", "p99", "mean", "max"):
        setattr(result, f"{key}_ms", round(data[f"{key}_us"] / 1000, 3))
    if not data["p50_us"]:  # no histogram from done(): fall back to the --latency lines
        for pct, value in _latency_lines(output).items():
            setattr(result, f"p{pct}_ms", value)
    result.note = "latency over all responses (wrk histogram, 1 us resolution)"
    return result


_LATENCY_LINE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _latency_lines(output: str) -> dict[str, float]:
    """``--latency`` distribution lines -> {"50": ms, ...} (wrk prints 50/75/90/99 only)."""
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {m[1]: round(float(m[2]) * scale[m[3]], 3) for m in _LATENCY_LINE.finditer(output)}


# --- Python fallback -------------------------------------------------------------------------------------


def _python(
    url: str, body: bytes, headers: dict[str, str], concurrency: int, requests: int, max_s: float
) -> Load:
    import uvloop

    result = Load("python", concurrency, requests, max_s, command=f"aiohttp x{concurrency} (in process)")
    cpu = procfs.self_cpu_seconds()
    latencies, errors, seconds, issued = uvloop.run(_drive(url, body, headers, concurrency, requests, max_s))
    result.client_cpu_s = round(procfs.self_cpu_seconds() - cpu, 2)
    latencies.sort()
    result.ok, result.errors, result.error_kinds = len(latencies), sum(errors.values()), dict(errors)
    result.seconds, result.time_capped = round(seconds, 3), issued < requests
    result.rps = round(result.ok / seconds, 1) if seconds else 0.0
    for key, fraction in (("p50", 0.5), ("p75", 0.75), ("p90", 0.9), ("p99", 0.99)):
        setattr(result, f"{key}_ms", round(percentile(latencies, fraction) * 1000, 3))
    if latencies:
        result.mean_ms = round(sum(latencies) / len(latencies) * 1000, 3)
        result.max_ms = round(latencies[-1] * 1000, 3)
    result.note = "latency over 200 responses (Python client, perf_counter)"
    return result


async def _drive(
    url: str, body: bytes, headers: dict[str, str], concurrency: int, count: int, max_s: float
) -> tuple[list[float], collections.Counter[str], float, int]:
    import aiohttp

    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    issued = 0
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        deadline = started + max_s

        async def worker() -> None:
            nonlocal issued
            while issued < count and time.perf_counter() < deadline:
                issued += 1
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if status == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[str(status)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - started, issued


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
