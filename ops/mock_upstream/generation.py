"""``POST /v1/chat/completions`` and ``POST /v1/responses``: plain and streamed (SSE), with faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
from aiohttp import web

from ops.mock_upstream import parsing, wire
from ops.mock_upstream.faults import MockConfig, fault_for, millis
from ops.mock_upstream.logic import Reply, decide
from ops.mock_upstream.recording import Recorder, RequestRecord

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


class Generation:
    """The two generation endpoints, sharing faults, pacing and recording."""

    def __init__(self, config: MockConfig, recorder: Recorder) -> None:
        self.config = config
        self.recorder = recorder

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/chat/completions``."""
        return await self._handle(request, chat=True)

    async def responses(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/responses``."""
        return await self._handle(request, chat=False)

    async def _handle(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        try:
            body = _decode(await request.read())
        except msgspec.DecodeError as exc:
            self.recorder.add(request.method, request.path, dict(request.headers), None).status = 400
            return _error(400, f"invalid JSON body: {exc}", "invalid_request_error")
        record = self.recorder.add(request.method, request.path, dict(request.headers), body)
        record.stream = bool(body.get("stream"))
        record.fault = fault_for(request.headers, body, request.path, self.recorder)
        try:
            response = await self._answer(request, body, record, chat=chat)
        except asyncio.CancelledError:
            record.closed_early = True
            raise
        except (ConnectionResetError, ConnectionError):
            record.closed_early = True
            raise
        record.status = response.status
        return response

    async def _answer(
        self, request: web.Request, body: dict[str, Any], record: RequestRecord, *, chat: bool
    ) -> web.StreamResponse:
        await asyncio.sleep(millis(request.headers, "x-mock-latency-ms", self.config.latency_ms))
        fault = record.fault
        if fault == "429":
            retry_after = request.headers.get("x-mock-retry-after", "1")
            error = _error(429, "Rate limit reached (mock)", "rate_limit_error", "rate_limit_exceeded")
            error.headers["Retry-After"] = retry_after
            return error
        if fault == "500":
            return _error(500, "The server had an error (mock)", "server_error")
        if fault == "timeout":
            await asyncio.sleep(self.config.timeout_sleep_s)
        prompt = parsing.from_chat(body) if chat else parsing.from_responses(body)
        reply = decide(prompt)
        model = prompt.model or "mock-model"
        rid = f"{record.seq:06d}"
        if record.stream:
            return await self._stream(request, record, reply, model, rid, chat=chat, body=body)
        if fault == "drop":
            _drop(request)
            return web.Response(status=499)
        if fault == "malformed":
            record.completed = True
            return web.Response(body=b"{not json", content_type="application/json")
        payload = wire.chat_completion(reply, model, rid) if chat else wire.response(reply, model, rid)
        record.completed = True
        return web.Response(body=_encode(payload), content_type="application/json")

    async def _stream(
        self,
        request: web.Request,
        record: RequestRecord,
        reply: Reply,
        model: str,
        rid: str,
        *,
        chat: bool,
        body: dict[str, Any],
    ) -> web.StreamResponse:
        delay = millis(request.headers, "x-mock-token-delay-ms", self.config.token_delay_ms)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        sent_pieces = 0
        for is_piece, frame in _frames(reply, model, rid, chat=chat, body=body):
            if is_piece:
                if record.fault == "drop" and sent_pieces >= self.config.drop_after:
                    _drop(request)
                    return response
                if record.fault == "malformed" and sent_pieces >= 2:
                    await response.write(b"data: {not json\n\n")
                    record.completed = True
                    return response
                if sent_pieces and delay:
                    await asyncio.sleep(delay)
                sent_pieces += 1
            await response.write(frame)
        await response.write_eof()
        record.completed = True
        return response


def _frames(
    reply: Reply, model: str, rid: str, *, chat: bool, body: dict[str, Any]
) -> Iterator[tuple[bool, bytes]]:
    """SSE frames: chat completions as ``data:`` lines ending ``[DONE]``; responses with ``event:`` too."""
    if chat:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        for is_piece, chunk in wire.chat_chunks(reply, model, rid, include_usage=include_usage):
            yield is_piece, b"data: " + _encode(chunk) + b"\n\n"
        yield False, b"data: [DONE]\n\n"
        return
    for seq, (is_piece, event) in enumerate(wire.response_events(reply, model, rid)):
        event["sequence_number"] = seq
        yield is_piece, f"event: {event['type']}\ndata: ".encode() + _encode(event) + b"\n\n"


def _drop(request: web.Request) -> None:
    """Cut the TCP connection under the request, mid-answer."""
    if request.transport is not None:
        request.transport.abort()


def _error(status: int, message: str, kind: str, code: str | None = None) -> web.Response:
    return web.Response(
        status=status, body=_encode(wire.error_body(message, kind, code)), content_type="application/json"
    )
