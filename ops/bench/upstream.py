"""A fast fixed-response upstream for benchmarks: OpenAI Chat Completions, OpenAI Responses, Anthropic Messages.

``uv run python -m ops.bench.upstream --port 8200 --tokens 50 --token-delay-ms 20``

Pure Python on uvloop: a raw ``asyncio.Protocol`` HTTP/1.1 server (keep-alive, pipelining, Content-Length or
chunked request bodies), no framework, listening on 127.0.0.1 only. Every answer is prebuilt bytes:

- ``POST /v1/chat/completions``, ``POST /v1/responses``, ``POST /v1/messages``: a fixed valid JSON answer with
  usage in that protocol's shape; with ``"stream": true`` in the body, that protocol's SSE sequence with N
  content pieces (chat: role chunk, N content chunks, the finish chunk, a usage chunk when
  ``stream_options.include_usage`` is true, ``data: [DONE]``; Responses: ``response.created`` ...
  N ``response.output_text.delta`` ... ``response.completed`` carrying the whole response; Anthropic:
  ``message_start``, ``content_block_start``, ``ping``, N ``content_block_delta``, ``content_block_stop``,
  ``message_delta``, ``message_stop``). Streams use chunked transfer encoding, so the connection stays alive.
- ``GET /v1/models``: one model. ``GET /_bench/stats``: request and stream counters (JSON).

The request body is only decoded when it contains ``"stream"`` (to read ``stream`` and
``stream_options.include_usage``); authentication headers are accepted and ignored.

Pacing: ONE ticker per distinct delay (normally one for the whole server) writes the next piece to every open
stream each ``--token-delay-ms`` (0: the whole stream at once), so thousands of paced streams cost one timer
callback and one socket write per stream per tick. The stream's head (headers and the frames before the first
piece) is written at once; piece k follows on the k-th tick; the tail right after the last piece. A request
may override the server's defaults with the headers ``x-bench-tokens`` and ``x-bench-token-delay-ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec

HOST = "127.0.0.1"
MODEL = "bench-model"
CREATED = 1_700_000_000
TEXT = "Hello from the benchmark upstream."
WORDS = ("Hello", " from", " the", " benchmark", " upstream,", " one", " piece", " at", " a", " time.")
USAGE_IN, USAGE_OUT = 12, 7
MAX_TOKENS = 100_000
MAX_DELAY_MS = 60_000.0
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
PROTOCOLS = ("chat", "responses", "anthropic")
ROUTES = {b"/v1/chat/completions": "chat", b"/v1/responses": "responses", b"/v1/messages": "anthropic"}

_json = msgspec.json.encode


# --- the answers ------------------------------------------------------------------------------------------


def pieces(n: int) -> list[str]:
    """The N content pieces of a streamed answer (words, cycling)."""
    return [WORDS[i % len(WORDS)] for i in range(n)]


def chat_usage(output_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": USAGE_IN,
        "completion_tokens": output_tokens,
        "total_tokens": USAGE_IN + output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def chat_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": TEXT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": chat_usage(USAGE_OUT),
        "system_fingerprint": None,
    }


def _message_item(text: str, *, done: bool = True) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if done else []
    return {
        "type": "message",
        "id": "msg_bench",
        "status": "completed" if done else "in_progress",
        "role": "assistant",
        "content": content,
    }


def response(text: str = TEXT, output_tokens: int = USAGE_OUT, *, done: bool = True) -> dict[str, Any]:
    """A whole Responses ``response`` object (``done=False``: the in-progress shell)."""
    usage = {
        "input_tokens": USAGE_IN,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": USAGE_IN + output_tokens,
    }
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": CREATED,
        "status": "completed" if done else "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": MODEL,
        "output": [_message_item(text)] if done else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
        "usage": usage if done else None,
    }


def anthropic_message(text: str = TEXT, output_tokens: int = USAGE_OUT) -> dict[str, Any]:
    return {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": USAGE_IN,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": CREATED, "owned_by": "bench"}],
    }


JSON_BODIES: dict[str, bytes] = {
    "chat": _json(chat_completion()),
    "responses": _json(response()),
    "anthropic": _json(anthropic_message()),
    "models": _json(models()),
}


# --- streamed answers: (head frames, one frame per piece, tail frames) ---------------------------------------

Frames = tuple[list[bytes], list[bytes], list[bytes]]


def _data(payload: Any) -> bytes:
    return b"data: " + _json(payload) + b"\n\n"


def _event(name: str, payload: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _json(payload) + b"\n\n"


def _chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def chat_frames(n: int, include_usage: bool) -> Frames:
    head = [_data(_chunk({"role": "assistant", "content": ""}, None))]
    body = [_data(_chunk({"content": piece}, None)) for piece in pieces(n)]
    tail = [_data(_chunk({}, "stop"))]
    if include_usage:
        last = _chunk({}, None)
        last["choices"] = []
        last["usage"] = chat_usage(n)
        tail.append(_data(last))
    tail.append(b"data: [DONE]\n\n")
    return head, body, tail


def responses_frames(n: int) -> Frames:
    seq = iter(range(1_000_000_000))
    text = "".join(pieces(n))
    where = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}

    def ev(kind: str, **fields: Any) -> bytes:
        return _event(kind, {"type": kind, "sequence_number": next(seq), **fields})

    part = {"type": "output_text", "text": "", "annotations": []}
    head = [
        ev("response.created", response=response(done=False)),
        ev("response.in_progress", response=response(done=False)),
        ev("response.output_item.added", output_index=0, item=_message_item("", done=False)),
        ev("response.content_part.added", **where, part=part),
    ]
    body = [ev("response.output_text.delta", **where, delta=piece, logprobs=[]) for piece in pieces(n)]
    tail = [
        ev("response.output_text.done", **where, text=text, logprobs=[]),
        ev("response.content_part.done", **where, part={**part, "text": text}),
        ev("response.output_item.done", output_index=0, item=_message_item(text)),
        ev("response.completed", response=response(text, n)),
    ]
    return head, body, tail


def anthropic_frames(n: int) -> Frames:
    start = anthropic_message("", 1)
    start["content"], start["stop_reason"] = [], None
    head = [
        _event("message_start", {"type": "message_start", "message": start}),
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        _event("ping", {"type": "ping"}),
    ]
    body = [
        _event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
        )
        for piece in pieces(n)
    ]
    tail = [
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": n},
            },
        ),
        _event("message_stop", {"type": "message_stop"}),
    ]
    return head, body, tail


def frames(protocol: str, n: int, include_usage: bool = False) -> Frames:
    """The SSE frames (``bytes`` each, unframed by HTTP) of one streamed answer."""
    if protocol == "chat":
        return chat_frames(n, include_usage)
    if protocol == "responses":
        return responses_frames(n)
    if protocol == "anthropic":
        return anthropic_frames(n)
    raise ValueError(f"unknown protocol {protocol!r}")


# --- HTTP ------------------------------------------------------------------------------------------------

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    500: b"Internal Server Error",
}
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n"
)


def _response(status: int, body: bytes, *, close: bool = False) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
        status,
        _REASONS.get(status, b"Error"),
        len(body),
    )
    return head + (b"Connection: close\r\n\r\n" if close else b"\r\n") + body


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _error(message: str, protocol: str = "chat") -> bytes:
    if protocol == "anthropic":
        return _json({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
    return _json(
        {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    )


class _StreamOptions(msgspec.Struct):
    include_usage: bool = False


class _StreamFlags(msgspec.Struct):
    stream: bool = False
    stream_options: _StreamOptions | None = None


_flags = msgspec.json.Decoder(_StreamFlags)


class _Plan:
    """One streamed answer as HTTP bytes: the head write, one write per piece, the tail write."""

    __slots__ = ("body", "head", "tail")

    def __init__(self, protocol: str, n: int, include_usage: bool) -> None:
        head, body, tail = frames(protocol, n, include_usage)
        self.head = b"".join(_http_chunk(f) for f in head)
        self.body = [_http_chunk(f) for f in body]
        self.tail = b"".join(_http_chunk(f) for f in tail) + b"0\r\n\r\n"


class _Stream:
    __slots__ = ("conn", "next", "plan")

    def __init__(self, conn: _Connection, plan: _Plan) -> None:
        self.conn, self.plan, self.next = conn, plan, 0


class _Ticker:
    """Every ``period_s``, the next piece to every open stream of this period; idle when no stream is open."""

    def __init__(self, server: BenchUpstream, period_s: float) -> None:
        self.server, self.period_s = server, period_s
        self.streams: list[_Stream] = []
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def add(self, stream: _Stream) -> None:
        self.streams.append(stream)
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._due = loop.time() + self.period_s
            self._handle = loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        self._handle = None
        late = asyncio.get_running_loop().time() - self._due
        if late > self.server.max_tick_lag_s:
            self.server.max_tick_lag_s = late
        keep: list[_Stream] = []
        for stream in self.streams:
            conn = stream.conn
            if conn.closed:
                self.server.open_streams -= 1
                continue
            plan = stream.plan
            conn.transport.write(plan.body[stream.next])
            stream.next += 1
            if stream.next < len(plan.body):
                keep.append(stream)
            else:
                conn.finish_stream(plan.tail)
        self.streams = keep
        if keep:
            loop = asyncio.get_running_loop()
            now = loop.time()
            self._due += self.period_s
            if self._due < now:  # the loop lagged: skip ticks rather than burst
                self._due = now + self.period_s
            self._handle = loop.call_at(self._due, self._tick)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.streams.clear()


class _Connection(asyncio.Protocol):
    __slots__ = ("buf", "busy", "close_after", "closed", "continued", "server", "transport")

    def __init__(self, server: BenchUpstream) -> None:
        self.server = server
        self.buf = bytearray()
        self.busy = False  # a stream is being written: later pipelined requests wait
        self.closed = False
        self.close_after = False
        self.continued = False
        self.transport: asyncio.Transport = None  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._process()

    def finish_stream(self, tail: bytes) -> None:
        self.server.open_streams -= 1
        self.transport.write(tail)
        self.busy = False
        if self.close_after:
            self.transport.close()
        elif self.buf:
            self._process()

    def _fail(self, status: int, message: str) -> None:
        self.transport.write(_response(status, _error(message), close=True))
        self.transport.close()
        self.closed = True

    def _process(self) -> None:
        """Parse and answer every complete request in the buffer (one small HTTP/1.1 parser)."""
        buf = self.buf
        while not self.busy and not self.closed:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._fail(400, "request head too large")
                return
            lines = bytes(buf[:end]).split(b"\r\n")
            try:
                method, target, version = lines[0].split(b" ", 2)
            except ValueError:
                self._fail(400, "bad request line")
                return
            length, chunked, keep_alive, expect = 0, False, version == b"HTTP/1.1", False
            tokens = delay = None
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    try:
                        length = int(value)
                    except ValueError:
                        self._fail(400, "bad content-length")
                        return
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    value = value.strip().lower()
                    keep_alive = value != b"close" if version == b"HTTP/1.1" else value == b"keep-alive"
                elif name == b"expect":
                    expect = value.strip().lower() == b"100-continue"
                elif name == b"x-bench-tokens":
                    tokens = value.strip()
                elif name == b"x-bench-token-delay-ms":
                    delay = value.strip()
            start = end + 4
            if chunked:
                decoded = _dechunk(buf, start)
                if decoded is None:
                    if expect and not self.continued:
                        self.continued = True
                        self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    return
                body, consumed = decoded
            else:
                if length > MAX_BODY:
                    self._fail(413, "request body too large")
                    return
                if len(buf) - start < length:
                    if expect and not self.continued:
                        self.continued = True
                        self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    return
                body, consumed = bytes(buf[start : start + length]), start + length
            del buf[:consumed]
            self.continued = False
            self.close_after = not keep_alive
            try:
                self._handle(method, target.split(b"?", 1)[0], body, tokens, delay)
            except Exception as exc:  # a bug here must show, not hang the client
                print(f"bench upstream: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                self._fail(500, "bench upstream error")
                return
            if self.close_after and not self.busy:
                self.transport.close()
                self.closed = True

    def _handle(
        self, method: bytes, path: bytes, body: bytes, tokens: bytes | None, delay: bytes | None
    ) -> None:
        server, close = self.server, self.close_after
        protocol = ROUTES.get(path)
        if protocol is not None:
            if method != b"POST":
                self.transport.write(_response(405, _error("method not allowed", protocol), close=close))
                return
            server.requests[protocol] += 1
            stream, include_usage = False, False
            if b'"stream"' in body:
                try:
                    flags = _flags.decode(body)
                except msgspec.DecodeError as exc:
                    self.transport.write(
                        _response(400, _error(f"invalid JSON body: {exc}", protocol), close=close)
                    )
                    return
                stream = flags.stream
                include_usage = bool(flags.stream_options and flags.stream_options.include_usage)
            if not stream:
                self.transport.write(server.json_answers[protocol][close])
                return
            try:
                n = server.tokens if tokens is None else int(tokens)
                delay_ms = server.token_delay_ms if delay is None else float(delay)
                if not (0 <= n <= MAX_TOKENS and 0 <= delay_ms <= MAX_DELAY_MS):
                    raise ValueError
            except ValueError:
                message = f"x-bench-tokens must be 0-{MAX_TOKENS}, x-bench-token-delay-ms 0-{MAX_DELAY_MS:g}"
                self.transport.write(_response(400, _error(message, protocol), close=close))
                return
            server.streams[protocol] += 1
            self._stream(server.plan(protocol, n, include_usage and protocol == "chat"), delay_ms)
        elif path == b"/v1/models" and method == b"GET":
            server.requests["models"] += 1
            self.transport.write(server.json_answers["models"][close])
        elif path == b"/_bench/stats" and method == b"GET":
            self.transport.write(_response(200, _json(server.stats()), close=close))
        else:
            server.requests["other"] += 1
            self.transport.write(
                _response(404, _error(f"no route {path.decode(errors='replace')}"), close=close)
            )

    def _stream(self, plan: _Plan, delay_ms: float) -> None:
        server = self.server
        head = _SSE_HEAD + (b"Connection: close\r\n\r\n" if self.close_after else b"\r\n")
        if delay_ms == 0 or not plan.body:
            self.transport.write(b"".join((head, plan.head, *plan.body, plan.tail)))
            return
        self.transport.write(head + plan.head)
        self.busy = True
        server.open_streams += 1
        server.peak_streams = max(server.peak_streams, server.open_streams)
        ticker = server.tickers.get(delay_ms)
        if ticker is None:
            ticker = server.tickers[delay_ms] = _Ticker(server, delay_ms / 1000)
        ticker.add(_Stream(self, plan))


def _dechunk(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked request body from ``buf[start:]``: ``(body, end offset)``, or None while incomplete."""
    out, pos = bytearray(), start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)  # trailers (ignored) end with an empty line
            while end >= 0 and end != pos:
                pos = end + 2
                end = buf.find(b"\r\n", pos)
            return (bytes(out), end + 2) if end >= 0 else None
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


# --- the server ------------------------------------------------------------------------------------------


class BenchUpstream:
    """One fast upstream in the running event loop: ``await start()``, ``url``/``base_url``, ``await stop()``."""

    def __init__(self, tokens: int = 50, token_delay_ms: float = 20.0) -> None:
        if not (0 <= tokens <= MAX_TOKENS and 0 <= token_delay_ms <= MAX_DELAY_MS):
            raise ValueError(f"tokens 0-{MAX_TOKENS}, token delay 0-{MAX_DELAY_MS:g} ms")
        self.tokens, self.token_delay_ms = tokens, token_delay_ms
        self.port = 0
        self.requests: dict[str, int] = dict.fromkeys((*PROTOCOLS, "models", "other"), 0)
        self.streams: dict[str, int] = dict.fromkeys(PROTOCOLS, 0)
        self.open_streams = self.peak_streams = 0
        self.connections: set[_Connection] = set()
        self.tickers: dict[float, _Ticker] = {}
        self.max_tick_lag_s = 0.0
        """How late the most late tick ran since the last ``stats()`` (this upstream's own stalls)."""
        self.json_answers = {
            name: (_response(200, body), _response(200, body, close=True))
            for name, body in JSON_BODIES.items()
        }
        self._plans: dict[tuple[str, int, bool], _Plan] = {}
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def plan(self, protocol: str, n: int, include_usage: bool) -> _Plan:
        key = (protocol, n, include_usage)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= 256:
                self._plans.clear()
            plan = self._plans[key] = _Plan(protocol, n, include_usage)
        return plan

    def stats(self) -> dict[str, Any]:
        """The counters; reading them resets ``max_tick_lag_ms``."""
        lag, self.max_tick_lag_s = self.max_tick_lag_s, 0.0
        return {
            "max_tick_lag_ms": round(lag * 1000, 1),
            "requests": self.requests,
            "streams": self.streams,
            "open_streams": self.open_streams,
            "peak_streams": self.peak_streams,
            "connections": len(self.connections),
            "tokens": self.tokens,
            "token_delay_ms": self.token_delay_ms,
        }

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), HOST, port, backlog=4096, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for ticker in self.tickers.values():
            ticker.close()
        if self._server is not None:
            self._server.close()
            for conn in list(self.connections):
                conn.transport.close()
            await self._server.wait_closed()
            self._server = None


@asynccontextmanager
async def running_upstream(
    port: int = 0, tokens: int = 50, token_delay_ms: float = 20.0
) -> AsyncIterator[BenchUpstream]:
    """``async with running_upstream(tokens=5, token_delay_ms=1) as up: up.base_url`` (in this event loop)."""
    upstream = BenchUpstream(tokens, token_delay_ms)
    await upstream.start(port)
    try:
        yield upstream
    finally:
        await upstream.stop()


async def _serve(port: int, tokens: int, token_delay_ms: float, announce: Callable[[str], None]) -> None:
    upstream = BenchUpstream(tokens, token_delay_ms)
    await upstream.start(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    announce(f"bench upstream on {upstream.url} ({tokens} pieces per stream, every {token_delay_ms:g} ms)")
    try:
        await stop.wait()
    finally:
        await upstream.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bench.upstream", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=8200, help="127.0.0.1 port (0: any free port)")
    parser.add_argument("--tokens", type=int, default=50, help="content pieces per stream")
    parser.add_argument("--token-delay-ms", type=float, default=20.0, help="pause between pieces (0: none)")
    args = parser.parse_args(argv)
    import uvloop

    def announce(line: str) -> None:
        print(line, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_serve(args.port, args.tokens, args.token_delay_ms, announce))
    return 0


if __name__ == "__main__":
    sys.exit(main())
