"""The benchmark kit's fast upstream speaks each protocol validly (JSON and SSE), and the kit's clients read it.

The upstream runs in the test's event loop (``running_upstream``) with 5 pieces 1 ms apart; every answer is
decoded with msgspec into the fields a client relies on. Bounded and fast: no timing is asserted.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ops.bench import load, nginx, sse_load
from ops.bench.forwarder import create_app
from ops.bench.upstream import BenchUpstream, pieces, running_upstream

TOKENS = 5
PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "anthropic": "/v1/messages"}


# --- wire shapes a client decodes ------------------------------------------------------------------------


class ChatUsage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatMessage(msgspec.Struct):
    role: str
    content: str


class ChatChoice(msgspec.Struct):
    index: int
    message: ChatMessage
    finish_reason: str


class ChatCompletion(msgspec.Struct):
    id: str
    object: str
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage


class OutputText(msgspec.Struct):
    type: str
    text: str


class OutputMessage(msgspec.Struct):
    type: str
    id: str
    role: str
    status: str
    content: list[OutputText]


class ResponsesUsage(msgspec.Struct):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class Response(msgspec.Struct):
    id: str
    object: str
    status: str
    model: str
    output: list[OutputMessage]
    usage: ResponsesUsage | None


class Completed(msgspec.Struct):
    type: str
    sequence_number: int
    response: Response


class AnthropicUsage(msgspec.Struct):
    input_tokens: int
    output_tokens: int


class TextBlock(msgspec.Struct):
    type: str
    text: str


class AnthropicMessage(msgspec.Struct):
    id: str
    type: str
    role: str
    model: str
    content: list[TextBlock]
    stop_reason: str | None
    usage: AnthropicUsage


class ChunkDelta(msgspec.Struct):
    role: str | None = None
    content: str | None = None


class ChunkChoice(msgspec.Struct):
    index: int
    delta: ChunkDelta
    finish_reason: str | None


class ChatChunk(msgspec.Struct):
    id: str
    object: str
    choices: list[ChunkChoice]
    usage: ChatUsage | None = None


def sse_frames(raw: bytes) -> list[tuple[str | None, bytes]]:
    """``(event name or None, data)`` for every frame of a stream."""
    out = []
    for frame in raw.decode().split("\n\n"):
        if not frame.strip():
            continue
        event, data = None, []
        for line in frame.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        out.append((event, "\n".join(data).encode()))
    return out


async def post(
    upstream: BenchUpstream, path: str, body: dict[str, Any], **headers: str
) -> tuple[int, str, bytes]:
    """One request on a fresh connection (raw HTTP/1.1: the answer is de-chunked here)."""
    payload = msgspec.json.encode(body)
    head = [f"POST {path} HTTP/1.1", "Host: test", f"Content-Length: {len(payload)}", "Connection: close"]
    head += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    raw = await exchange(upstream, ("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    status_line, _, rest = raw.partition(b"\r\n")
    header_block, _, body_bytes = rest.partition(b"\r\n\r\n")
    content_type = next(
        (
            ln.split(b":", 1)[1].strip().decode()
            for ln in header_block.split(b"\r\n")
            if ln.lower().startswith(b"content-type")
        ),
        "",
    )
    if b"transfer-encoding: chunked" in header_block.lower():
        body_bytes = dechunk(body_bytes)
    return int(status_line.split()[1]), content_type, body_bytes


async def exchange(upstream: BenchUpstream, data: bytes) -> bytes:
    """Write ``data`` on a new connection, read until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", upstream.port)
    try:
        writer.write(data)
        return await asyncio.wait_for(reader.read(-1), 5)
    finally:
        writer.close()
        await writer.wait_closed()


def dechunk(data: bytes) -> bytes:
    out, pos = b"", 0
    while True:
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol], 16)
        if size == 0:
            return out
        out += data[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2


@pytest.fixture
async def upstream() -> Any:
    async with running_upstream(tokens=TOKENS, token_delay_ms=1) as up:
        yield up


# --- JSON ------------------------------------------------------------------------------------------------


async def test_json_answers_are_valid_in_each_protocol(upstream: BenchUpstream) -> None:
    status, ctype, body = await post(upstream, PATHS["chat"], {"model": "m", "messages": []})
    chat = msgspec.json.decode(body, type=ChatCompletion)
    assert (status, ctype, chat.object, chat.choices[0].finish_reason) == (
        200,
        "application/json",
        "chat.completion",
        "stop",
    )
    assert (
        chat.choices[0].message.content
        and chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens
    )

    status, _, body = await post(upstream, PATHS["responses"], {"model": "m", "input": "hi", "stream": False})
    response = msgspec.json.decode(body, type=Response)
    assert (status, response.object, response.status) == (200, "response", "completed")
    assert response.output[0].content[0].text and response.usage and response.usage.output_tokens > 0

    status, _, body = await post(
        upstream, PATHS["anthropic"], {"model": "m", "max_tokens": 9, "messages": []}
    )
    message = msgspec.json.decode(body, type=AnthropicMessage)
    assert (status, message.type, message.stop_reason) == (200, "message", "end_turn")
    assert message.content[0].text and message.usage.input_tokens > 0


async def test_models_unknown_routes_and_bad_bodies(upstream: BenchUpstream) -> None:
    raw = await exchange(upstream, b"GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 ")
    assert msgspec.json.decode(raw.partition(b"\r\n\r\n")[2])["data"][0]["id"] == "bench-model"
    status, _, body = await post(upstream, "/v1/nope", {})
    assert status == 404 and msgspec.json.decode(body)["error"]["message"]
    status, _, body = await post(upstream, PATHS["chat"], {"stream": True}, x_bench_tokens="lots")
    assert status == 400


async def test_keep_alive_pipelining_and_chunked_request_bodies(upstream: BenchUpstream) -> None:
    body = b'{"model":"m","stream":true}'
    streamed = f"POST /v1/messages HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    chunked = b'POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
    last = b"GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    raw = await exchange(
        upstream, streamed + chunked + last
    )  # three requests in one write: answered in order
    assert raw.count(b"HTTP/1.1 200 OK") == 3
    assert (
        raw.index(b"event: message_stop")
        < raw.index(b'"object":"chat.completion"')
        < raw.index(b'"object":"list"')
    )
    assert upstream.stats()["streams"]["anthropic"] == 1


# --- SSE -------------------------------------------------------------------------------------------------


async def test_chat_stream_chunks_usage_and_done(upstream: BenchUpstream) -> None:
    body = {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}
    status, ctype, raw = await post(upstream, PATHS["chat"], body)
    assert (status, ctype) == (200, "text/event-stream")
    frames = sse_frames(raw)
    assert frames[-1] == (None, b"[DONE]")
    chunks = [msgspec.json.decode(data, type=ChatChunk) for _, data in frames[:-1]]
    assert chunks[0].choices[0].delta.role == "assistant"
    content = [c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content]
    assert content == pieces(TOKENS)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == TOKENS

    _, _, raw = await post(upstream, PATHS["chat"], {"model": "m", "stream": True})
    assert all(b'"usage"' not in data for _, data in sse_frames(raw))  # usage only when asked for


async def test_responses_stream_ends_with_the_whole_response(upstream: BenchUpstream) -> None:
    _, _, raw = await post(upstream, PATHS["responses"], {"model": "m", "input": "hi", "stream": True})
    frames = sse_frames(raw)
    events = [msgspec.json.decode(data) for _, data in frames]
    names = [name for name, _ in frames]
    assert names == [e["type"] for e in events]
    assert names[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert names[4 : 4 + TOKENS] == ["response.output_text.delta"] * TOKENS
    assert names[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = msgspec.json.decode(frames[-1][1], type=Completed).response
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert final.status == "completed" and final.output[0].content[0].text == text
    assert final.usage is not None and final.usage.output_tokens == TOKENS


async def test_anthropic_stream_event_sequence(upstream: BenchUpstream) -> None:
    _, _, raw = await post(upstream, PATHS["anthropic"], {"model": "m", "stream": True}, x_bench_tokens="3")
    frames = sse_frames(raw)
    names = [name for name, _ in frames]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    events = [msgspec.json.decode(data) for _, data in frames]
    assert [e["type"] for e in events] == names
    assert events[0]["message"]["usage"]["input_tokens"] > 0
    assert "".join(e["delta"]["text"] for e in events[3:6]) == "".join(pieces(3))
    assert events[-2]["delta"]["stop_reason"] == "end_turn" and events[-2]["usage"]["output_tokens"] == 3


# --- the kit's clients, nginx and the forwarder ----------------------------------------------------------


async def test_sse_client_reads_every_protocol(upstream: BenchUpstream) -> None:
    for protocol, path in (
        ("openai-chat", "/v1/chat/completions"),
        ("openai-responses", "/v1/responses"),
        ("anthropic", "/v1/messages"),
    ):
        result = await asyncio.to_thread(
            sse_load.measure, upstream.url + path, protocol, 10, warmup=0, expected_deltas=TOKENS, settle_s=0
        )
        summary = result["summary"]
        assert (summary["ok"], summary["failed"], summary["stalled"]) == (10, 0, 0), (protocol, result)
        assert (summary["deltas_min"], summary["deltas_max"]) == (TOKENS, TOKENS)
        assert summary["exactly_one_terminal_last"] == 10


async def test_json_load_with_each_generator(upstream: BenchUpstream) -> None:
    body, headers = b'{"model":"m","messages":[]}', {"Content-Type": "application/json"}
    generators = ["python", *(["wrk"] if load.wrk_binary() else [])]
    for generator in generators:
        result = await asyncio.to_thread(
            load.measure, upstream.url + "/v1/chat/completions", body, headers, 2, 50, 5.0, generator
        )
        assert result.generator == generator
        assert result.ok >= 50 and result.errors == 0 and result.p50_ms > 0 and result.rps > 0


@contextmanager
def upstream_in_thread() -> Iterator[BenchUpstream]:
    """The upstream on its own loop and thread (Litestar's TestClient blocks the calling thread)."""
    ready, box = threading.Event(), {}

    async def serve() -> None:
        async with running_upstream(tokens=TOKENS, token_delay_ms=1) as up:
            box.update(up=up, loop=asyncio.get_running_loop(), stop=asyncio.Event())
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield box["up"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(5)


def test_forwarder_relays_json_and_sse() -> None:
    from litestar.testing import TestClient

    with upstream_in_thread() as up, TestClient(create_app(up.url, "bench-model")) as client:
        answer = client.post("/v1/chat/completions", json={"model": "x", "messages": []})
        assert answer.status_code == 200 and answer.json()["object"] == "chat.completion"
        answer = client.post("/v1/messages", json={"model": "x", "stream": True})
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert [name for name, _ in sse_frames(answer.content)][-1] == "message_stop"
        assert up.stats()["requests"] == {"chat": 1, "responses": 0, "anthropic": 1, "models": 0, "other": 0}


@pytest.mark.skipif(nginx.binary() is None, reason="nginx not installed (Debian: apt-get install nginx)")
def test_nginx_serves_the_same_fixed_json() -> None:
    import http.client

    with tempfile.TemporaryDirectory() as tmp, nginx.running_nginx(Path(tmp)) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("POST", "/v1/chat/completions", body=b'{"model":"m"}')
        response = conn.getresponse()
        assert response.status == 200
        assert msgspec.json.decode(response.read(), type=ChatCompletion).object == "chat.completion"
        conn.close()


def test_the_loop_probe_summary_finds_lag_and_a_busy_pause_without_upstream_reads() -> None:
    from ops.bench.loop_probe import summary

    # t, lag ms, reads, read bytes, sends, cpu s: reads flow, then 0.6 s of sends and lag with no read
    rows = [
        [0.0, 0.1, 10, 1000, 5, 0.1],
        [0.2, 0.1, 20, 2000, 10, 0.2],
        [0.4, 250.0, 20, 2000, 400, 0.4],
        [0.6, 700.0, 20, 2000, 900, 0.9],
        [0.8, 30.0, 20, 2000, 950, 1.0],
        [1.0, 0.2, 90, 9000, 990, 1.1],
        [1.2, 0.1, 90, 9000, 990, 1.1],  # idle: no read, but nothing to do either
    ]
    assert summary(rows) == {"max_lag_ms": 700.0, "lag_over_100ms_s": 0.4, "longest_busy_read_pause_s": 0.6}
    assert summary(rows[:1]) == {}
