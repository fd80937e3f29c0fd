"""Many concurrent SSE streams, protocol-aware: per-stream gaps, time to first token, completion, server RSS.

``measure(url, protocol, streams, pid=...)`` opens all streams at once on uvloop, one connection each, after
a small warm-up (as ``sse.py`` does, but with a raw ``asyncio.Protocol`` HTTP/1.1 client instead of aiohttp:
frames are read in ``data_received`` without a task wake-up per chunk, so the client stays cheaper than the
servers it measures at 2,000 paced streams), and reads every frame:

| protocol | content delta | success terminal | failure terminal |
|---|---|---|---|
| ``switchboard`` (``/v1/chat/stream``) | ``text.delta`` | ``run.completed`` | ``run.failed`` |
| ``openai-chat`` (``/v1/chat/completions``) | a chunk with delta content or tool calls | ``data: [DONE]`` | a chunk with ``error`` |
| ``openai-responses`` (``/v1/responses``) | ``response.output_text.delta`` (or arguments delta) | ``response.completed`` | ``response.failed``, ``response.incomplete``, ``error`` |
| ``anthropic`` (``/v1/messages``) | ``content_block_delta`` | ``message_stop`` | ``error`` |

Frames end at a blank line (``\\n\\n``); comment frames (``: heartbeat``) are not events and do not end a gap.
Per stream: status, time to the response headers, to the first content delta, to the end, the number of
deltas, the terminal events, and the largest gap between consecutive event frames (counted from the response
headers). Outcome, one per stream: **ok** (200, exactly one terminal event, a success and the last event, no
gap above ``stall_gap_s``), **stalled** (a gap above ``stall_gap_s``, or not finished within
``stream_timeout_s``), **failed** (anything else). Timing percentiles are over the streams that ended with
one terminal event (stalled ones included). The server's RSS (process tree of ``pid``) is sampled every
100 ms on a thread; it is read again ``settle_s`` (1 s) after the last stream ended ("after").

Only chat chunks are JSON-decoded (one typed msgspec decoder); event protocols are classified by their
``event:`` line. The client shares the machine with the server: its CPU seconds are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import resource
import time
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

from ops.bench import harness, procfs
from ops.bench.sse import MESSAGE
from ops.bench.stats import ms, percentile, table

STALL_GAP_S = 1.0
STREAM_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Protocol:
    name: str
    deltas: frozenset[bytes]  # event names of content deltas
    success: frozenset[bytes]
    failure: frozenset[bytes]


PROTOCOLS = {
    p.name: p
    for p in (
        Protocol(
            "switchboard",
            frozenset({b"text.delta"}),
            frozenset({b"run.completed"}),
            frozenset({b"run.failed"}),
        ),
        Protocol("openai-chat", frozenset(), frozenset(), frozenset()),  # data-only frames: decoded
        Protocol(
            "openai-responses",
            frozenset({b"response.output_text.delta", b"response.function_call_arguments.delta"}),
            frozenset({b"response.completed"}),
            frozenset({b"response.failed", b"response.incomplete", b"error"}),
        ),
        Protocol(
            "anthropic",
            frozenset({b"content_block_delta"}),
            frozenset({b"message_stop"}),
            frozenset({b"error"}),
        ),
    )
}
_BY_PATH = {
    "/v1/chat/stream": "switchboard",
    "/v1/chat/completions": "openai-chat",
    "/v1/responses": "openai-responses",
    "/v1/messages": "anthropic",
}


def protocol_for(path: str) -> str:
    """The protocol a path speaks (``/v1/chat/stream`` -> ``switchboard`` ...)."""
    try:
        return _BY_PATH[path.split("?", 1)[0].rstrip("/")]
    except KeyError:
        raise ValueError(f"no SSE protocol known for {path!r} (one of {', '.join(_BY_PATH)})") from None


def request_body(protocol: str, model: str = "bench-model", message: str = MESSAGE) -> bytes:
    """A streamed request in ``protocol``'s shape."""
    if protocol == "switchboard":
        return msgspec.json.encode({"message": message})
    user = [{"role": "user", "content": message}]
    if protocol == "openai-chat":
        body = {"model": model, "messages": user, "stream": True, "stream_options": {"include_usage": True}}
    elif protocol == "openai-responses":
        body = {"model": model, "input": message, "stream": True}
    elif protocol == "anthropic":
        body = {"model": model, "max_tokens": 1024, "messages": user, "stream": True}
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    return msgspec.json.encode(body)


def request_headers(protocol: str) -> dict[str, str]:
    headers = {**harness.AUTH_HEADER, "Content-Type": "application/json", "Accept": "text/event-stream"}
    if protocol == "anthropic":
        headers |= {"x-api-key": harness.API_KEY, "anthropic-version": "2023-06-01"}
    return headers


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[Any] | None = None


class _Choice(msgspec.Struct):
    delta: _Delta | None = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] | None = None
    error: Any = None


_chunk = msgspec.json.Decoder(_Chunk)


@dataclass
class Stream:
    status: int = 0
    ttfb_s: float = math.nan
    first_token_s: float = math.nan
    total_s: float = math.nan
    deltas: int = 0
    events: int = 0
    success: int = 0
    failure: int = 0
    terminal_last: bool = False
    max_gap_s: float = 0.0
    max_gap_after: int = 0  # deltas received before the largest gap
    timed_out: bool = False
    error: str = ""

    def outcome(self, stall_gap_s: float) -> str:
        if self.timed_out or self.max_gap_s > stall_gap_s:
            return "stalled"
        clean = self.status == 200 and self.success == 1 and self.failure == 0 and self.terminal_last
        return "ok" if clean and not self.error else "failed"


def _classify(protocol: Protocol, frame: bytes) -> str:
    """``delta`` | ``success`` | ``failure`` | ``event`` (any other event) | ``comment``."""
    event = data = None
    for line in frame.split(b"\n"):
        if line.startswith(b"event:"):
            event = line[6:].strip()
        elif line.startswith(b"data:"):
            data = line[5:].strip() if data is None else data + b"\n" + line[5:].strip()
    if event is None and data is None:
        return "comment"
    if protocol.name == "openai-chat":
        if data == b"[DONE]":
            return "success"
        try:
            chunk = _chunk.decode(data or b"")
        except msgspec.DecodeError:
            return "failure"
        if chunk.error is not None:
            return "failure"
        for choice in chunk.choices or ():
            if choice.delta is not None and (choice.delta.content or choice.delta.tool_calls):
                return "delta"
        return "event"
    if event in protocol.deltas:
        return "delta"
    if event in protocol.success:
        return "success"
    if event in protocol.failure:
        return "failure"
    return "event"


class _Client(asyncio.Protocol):
    """One stream on its own connection: HTTP/1.1 request, response head, chunked or plain body, SSE frames.

    Everything happens in ``data_received`` (no task wake-up per chunk), so thousands of paced streams cost
    the client a few microseconds per frame."""

    def __init__(self, request: bytes, protocol: Protocol, stream: Stream, t0: float) -> None:
        self.request, self.protocol, self.stream, self.t0 = request, protocol, stream, t0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.chunked = False
        self.length = -1  # Content-Length of a non-chunked body (-1: until close)
        self.raw = b""  # undecoded body bytes
        self.chunk_left = 0  # payload bytes left in the current chunk (+2 for its CRLF)
        self.sse = b""  # decoded bytes not yet cut into frames
        self.error_body = b""
        self.last = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if self.stream.status and not self.chunked and self.length < 0:
                self._finish()  # body delimited by the close
            else:
                self.stream.error = self.stream.error or (type(exc).__name__ if exc else "closed early")
                self.done.set_result(None)

    def _finish(self) -> None:
        self.stream.total_s = time.perf_counter() - self.t0
        if self.stream.status != 200:
            self.stream.error = self.error_body[:120].decode(errors="replace")
        if not self.done.done():
            self.done.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        stream = self.stream
        if not stream.status:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.head[:end].split(b"\r\n")
            data, self.head = self.head[end + 4 :], b""
            try:
                stream.status = int(lines[0].split(b" ", 2)[1])
            except (IndexError, ValueError):
                stream.error = "bad status line"
                self._finish()
                return
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"transfer-encoding":
                    self.chunked = b"chunked" in value.lower()
                elif name == b"content-length":
                    self.length = int(value)
            self.last = time.perf_counter()
            stream.ttfb_s = self.last - self.t0
            if self.length == 0 and not self.chunked:
                self._finish()
                return
        if not self.chunked:
            self._payload(data)
            if self.length >= 0:
                self.length -= len(data)
                if self.length <= 0:
                    self._finish()
            return
        raw = self.raw + data if self.raw else data
        pos, size = 0, len(raw)
        while pos < size:
            if self.chunk_left:
                take = min(self.chunk_left, size - pos)
                payload_left = self.chunk_left - 2  # the chunk's trailing CRLF is not payload
                if payload_left > 0:
                    self._payload(raw[pos : pos + min(take, payload_left)])
                self.chunk_left -= take
                pos += take
                continue
            eol = raw.find(b"\r\n", pos)
            if eol < 0:
                break
            chunk_size = int(raw[pos:eol].split(b";", 1)[0], 16)
            pos = eol + 2
            if chunk_size == 0:
                self._finish()
                return
            self.chunk_left = chunk_size + 2
        self.raw = raw[pos:]

    def _payload(self, data: bytes) -> None:
        stream = self.stream
        if stream.status != 200:
            self.error_body += data
            return
        buffer = self.sse + data if self.sse else data
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self.sse = buffer
            return
        complete, self.sse = buffer[:end], buffer[end + 2 :]
        now = time.perf_counter()
        saw_event = False
        protocol = self.protocol
        for frame in complete.split(b"\n\n") if b"\n\n" in complete else (complete,):
            kind = _classify(protocol, frame)
            if kind == "comment":
                continue
            saw_event = True
            stream.events += 1
            if stream.success or stream.failure:
                stream.terminal_last = False  # an event after the terminal one
            if kind == "delta":
                if not stream.deltas:
                    stream.first_token_s = now - self.t0
                stream.deltas += 1
            elif kind != "event":
                stream.success += kind == "success"
                stream.failure += kind == "failure"
                stream.terminal_last = True
        if saw_event:
            if now - self.last > stream.max_gap_s:
                stream.max_gap_s, stream.max_gap_after = now - self.last, stream.deltas
            self.last = now


def _request(url: str, body: bytes, headers: dict[str, str]) -> tuple[str, int, bytes]:
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    lines = [f"POST /{path} HTTP/1.1", f"Host: {hostport}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return host, int(port or 80), ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _one(host: str, port: int, request: bytes, protocol: Protocol, timeout_s: float) -> Stream:
    stream = Stream()
    t0 = time.perf_counter()
    client = None
    try:
        async with asyncio.timeout(timeout_s):
            loop = asyncio.get_running_loop()
            _, client = await loop.create_connection(
                lambda: _Client(request, protocol, stream, t0), host, port
            )
            await client.done
    except TimeoutError:
        stream.timed_out = True
    except OSError as exc:
        stream.error = type(exc).__name__
    finally:
        if client is not None and client.transport is not None:
            client.transport.close()
    if stream.status == 200 and not stream.timed_out and not (stream.success or stream.failure):
        stream.error = stream.error or "ended without a terminal event"
    return stream


def raise_nofile() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (processes started afterwards inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


async def _load(
    url: str,
    protocol: Protocol,
    count: int,
    warmup: int,
    body: bytes,
    headers: dict[str, str],
    pid: int | None,
    timeout_s: float,
    settle_s: float,
) -> dict[str, Any]:
    host, port, request = _request(url, body, headers)
    if warmup:
        await asyncio.gather(*(_one(host, port, request, protocol, timeout_s) for _ in range(warmup)))
    rss_before = procfs.rss_mib(pid) if pid else math.nan
    server_cpu = procfs.cpu_seconds(pid) if pid else 0.0
    client_cpu = procfs.self_cpu_seconds()
    sampler = procfs.RssSampler(pid, 0.1) if pid else None
    if sampler:
        sampler.__enter__()
    try:
        started = time.perf_counter()
        streams = await asyncio.gather(
            *(_one(host, port, request, protocol, timeout_s) for _ in range(count))
        )
        wall = time.perf_counter() - started
    finally:
        if sampler:
            sampler.__exit__(None, None, None)
    server_cpu_s = procfs.cpu_seconds(pid) - server_cpu if pid else math.nan
    client_cpu_s = procfs.self_cpu_seconds() - client_cpu
    await asyncio.sleep(settle_s)
    return {
        "streams": streams,
        "wall_s": wall,
        "rss_before_mib": rss_before,
        "rss_peak_mib": sampler.peak if sampler else math.nan,
        "rss_after_mib": procfs.rss_mib(pid) if pid else math.nan,
        "hwm_mib": procfs.hwm_mib(pid) if pid else math.nan,
        "server_cpu_s": server_cpu_s,
        "client_cpu_s": client_cpu_s,
    }


def summarize(streams: list[Stream], stall_gap_s: float, expected_deltas: int | None) -> dict[str, Any]:
    outcomes = collections.Counter(s.outcome(stall_gap_s) for s in streams)
    # timings over every stream that ended with its one terminal event (stalled ones included: a stall is
    # a gap, the stream may still have finished)
    done = [s for s in streams if s.status == 200 and not s.timed_out and s.success + s.failure == 1]

    def pct(attr: str, fraction: float) -> float:
        return ms(percentile(sorted(getattr(s, attr) for s in done), fraction))

    def where(s: Stream) -> str:
        if s.timed_out:
            return "timed out"
        if s.max_gap_after == 0:
            return "before the first delta"
        return "after the last delta" if s.max_gap_after >= (expected_deltas or 1 << 30) else "between deltas"

    gaps = sorted(s.max_gap_s for s in streams)
    return {
        "streams": len(streams),
        "ok": outcomes["ok"],
        "failed": outcomes["failed"],
        "stalled": outcomes["stalled"],
        "timed_out": sum(s.timed_out for s in streams),
        "gap_over_1s": sum(s.max_gap_s > 1.0 for s in streams),
        "exactly_one_terminal_last": sum(s.success + s.failure == 1 and s.terminal_last for s in streams),
        "non_200": dict(
            collections.Counter(f"{s.status} {s.error}"[:80] for s in streams if s.status not in (0, 200))
        ),
        "transport_errors": dict(collections.Counter(s.error for s in streams if s.error and not s.status)),
        "stall_position": dict(
            collections.Counter(where(s) for s in streams if s.outcome(stall_gap_s) == "stalled")
        ),
        "deltas_min": min((s.deltas for s in streams), default=0),
        "deltas_max": max((s.deltas for s in streams), default=0),
        "deltas_expected": expected_deltas,
        "max_gap_ms": ms(gaps[-1]) if gaps else math.nan,
        "gap_p99_ms": ms(percentile(gaps, 0.99)),
        **{
            f"{k}_p{int(f * 100)}_ms": pct(attr, f)
            for k, attr in (("ttfb", "ttfb_s"), ("first_token", "first_token_s"), ("total", "total_s"))
            for f in (0.5, 0.99)
        },
    }


def measure(
    url: str,
    protocol: str,
    streams: int,
    *,
    pid: int | None = None,
    warmup: int = 20,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    stall_gap_s: float = STALL_GAP_S,
    stream_timeout_s: float = STREAM_TIMEOUT_S,
    expected_deltas: int | None = None,
    settle_s: float = 1.0,
) -> dict[str, Any]:
    """Run ``streams`` concurrent streams against ``url``; a JSON-ready dict (summary, RSS, CPU, samples)."""
    import uvloop

    spec = PROTOCOLS[protocol]
    body = body if body is not None else request_body(protocol)
    headers = headers if headers is not None else request_headers(protocol)
    load = uvloop.run(_load(url, spec, streams, warmup, body, headers, pid, stream_timeout_s, settle_s))
    summary = summarize(load["streams"], stall_gap_s, expected_deltas)
    return {
        "url": url,
        "protocol": protocol,
        "params": {
            "streams": streams,
            "warmup": warmup,
            "stall_gap_s": stall_gap_s,
            "stream_timeout_s": stream_timeout_s,
            "rlimit_nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        },
        "summary": summary,
        **{k: round(v, 3) for k, v in load.items() if isinstance(v, float)},
        "per_stream_sample": [asdict(s) for s in load["streams"][:3]],
    }


def rows(result: dict[str, Any]) -> list[list[Any]]:
    """``metric | value`` rows for a table."""
    s = result["summary"]
    expect = f" (expect {s['deltas_expected']})" if s["deltas_expected"] else ""
    out = [
        ["streams ok / failed / stalled", f"{s['ok']} / {s['failed']} / {s['stalled']}"],
        ["streams with a gap > 1 s", s["gap_over_1s"]],
        ["exactly one terminal event, last", s["exactly_one_terminal_last"]],
        ["deltas per stream (min-max)", f"{s['deltas_min']}-{s['deltas_max']}{expect}"],
        ["time to headers p50 / p99 (ms)", f"{s['ttfb_p50_ms']} / {s['ttfb_p99_ms']}"],
        ["first token p50 / p99 (ms)", f"{s['first_token_p50_ms']} / {s['first_token_p99_ms']}"],
        ["total p50 / p99 (ms)", f"{s['total_p50_ms']} / {s['total_p99_ms']}"],
        ["largest gap / p99 of per-stream largest (ms)", f"{s['max_gap_ms']} / {s['gap_p99_ms']}"],
        [
            "where stalled streams stalled",
            ", ".join(f"{k}: {v}" for k, v in s["stall_position"].items()) or "-",
        ],
        ["wall time, all streams (s)", f"{result['wall_s']:.2f}"],
        [
            "server RSS before / peak / 1 s after (MiB)",
            f"{result['rss_before_mib']:.1f} / {result['rss_peak_mib']:.1f} / {result['rss_after_mib']:.1f}",
        ],
        ["CPU s server / client", f"{result['server_cpu_s']:.1f} / {result['client_cpu_s']:.1f}"],
    ]
    if s["non_200"] or s["transport_errors"]:
        out.append(["errors", f"{s['non_200']} {s['transport_errors']}"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bench.sse_load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/<path>")
    parser.add_argument(
        "--protocol", choices=["auto", *PROTOCOLS], default="auto", help="auto: from the path"
    )
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--pid", type=int, help="server process whose RSS and CPU to sample")
    parser.add_argument("--stall-gap-s", type=float, default=STALL_GAP_S)
    parser.add_argument("--timeout-s", type=float, default=STREAM_TIMEOUT_S, help="per stream")
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost")):
        parser.error("only 127.0.0.1 / localhost targets")
    path = "/" + args.url.split("/", 3)[3] if args.url.count("/") >= 3 else "/"
    protocol = protocol_for(path) if args.protocol == "auto" else args.protocol
    raise_nofile()
    result = measure(
        args.url,
        protocol,
        args.streams,
        pid=args.pid,
        warmup=args.warmup,
        stall_gap_s=args.stall_gap_s,
        stream_timeout_s=args.timeout_s,
    )
    print(f"{args.streams} streams, {protocol}, {args.url}")
    print(table(["metric", "value"], rows(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
