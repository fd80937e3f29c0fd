"""The SSE parser: events exactly as the event-stream format defines them, however the body is split."""

from __future__ import annotations

import aiohttp
import pytest

from adapters.providers.http.sse import SSEError, SSEParser
from ops.mock_upstream import MockUpstream

STREAM = (
    b"\xef\xbb\xbf: a comment, then a keep-alive\n"
    b":\n"
    b"data: one\n\n"
    b"event: response.output_text.delta\r\n"
    b"id: 7\r\n"
    b"retry: 1000\r\n"
    b'data: {"delta": "two"}\r\n'
    b"\r\n"
    b"data: first line\rdata:second line, no space\rdata\r\r"
    b"event: done\n"
    b"data: [DONE]\n\n"
    b"event: ignored-without-data\n\n"
)
EVENTS = [
    ("message", b"one"),
    ("response.output_text.delta", b'{"delta": "two"}'),
    ("message", b"first line\nsecond line, no space\n"),
    ("done", b"[DONE]"),
]


def parse(chunks: list[bytes]) -> list[tuple[str, bytes]]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def test_one_chunk() -> None:
    assert parse([STREAM]) == EVENTS


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_any_split_in_two_gives_the_same_events(cut: int) -> None:
    """Including a CRLF split between its CR and its LF, and the BOM split."""
    assert parse([STREAM[:cut], STREAM[cut:]]) == EVENTS


def test_byte_by_byte() -> None:
    assert parse([STREAM[i : i + 1] for i in range(len(STREAM))]) == EVENTS


def test_the_last_event_without_its_blank_line_is_kept_but_not_an_unterminated_line() -> None:
    assert parse([b"data: a\n\ndata: b\n"]) == [("message", b"a"), ("message", b"b")]
    assert parse([b"data: a\n\ndata: b\r"]) == [("message", b"a"), ("message", b"b")]
    assert parse([b"data: a\n\ndata: {partial"]) == [("message", b"a")]


def test_a_line_over_the_limit_is_an_error() -> None:
    parser = SSEParser(max_pending=16)
    assert parser.feed(b"data: short\n\n") == [("message", b"short")]
    with pytest.raises(SSEError):
        parser.feed(b"data: " + b"x" * 32)


def _parse(chunks: list[bytes]) -> list[tuple[str, bytes]]:
    """As the models read a body: ``feed`` each chunk, then ``close`` at its end."""
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def test_events_over_chunks_split_anywhere() -> None:
    assert _parse([STREAM[i : i + 5] for i in range(0, len(STREAM), 5)]) == EVENTS


async def test_over_a_real_streamed_body(mock: MockUpstream) -> None:
    body = {"model": "m", "input": "count these words", "stream": True}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{mock.base_url}/responses", json=body) as response,
    ):
        events = _parse([chunk async for chunk in response.content.iter_any()])
    names = [name for name, _ in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert names.count("response.output_text.delta") == 6
    assert all(data.startswith(b"{") and data.endswith(b"}") for _, data in events)
