"""``POST /v1/chat/completions``, ``POST /v1/responses`` and ``POST /v1/messages`` (Anthropic): plain and
streamed (SSE), with faults; ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
from aiohttp import web

from ops.mock_upstream import anthropic_wire, parsing, wire
from ops.mock_upstream.faults import MockConfig, count, fault_for, millis
from ops.mock_upstream.logic import Reply, decide, words
from ops.mock_upstream.recording import Recorder, RequestRecord

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode
_STATUS_FAULTS = frozenset({"429", "503", "529", "500", "401", "400-context", "status"})
CHAT, RESPONSES, MESSAGES = "chat", "responses", "messages"
_PARSERS = {CHAT: parsing.from_chat, RESPONSES: parsing.from_responses, MESSAGES: parsing.from_messages}


class Generation:
    """The generation endpoints, sharing faults, pacing and recording."""

    def __init__(self, config: MockConfig, recorder: Recorder) -> None:
        self.config = config
        self.recorder = recorder

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/chat/completions``."""
        return await self._handle(request, CHAT)

    async def responses(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/responses``."""
        return await self._handle(request, RESPONSES)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/messages`` (Anthropic's Messages API)."""
        return await self._handle(request, MESSAGES)

    async def count_tokens(self, request: web.Request) -> web.Response:
        """``POST /v1/messages/count_tokens``: ``{"input_tokens": N}``, N the rules' input count; the
        status faults apply."""
        body = _decode(await request.read())
        record = self.recorder.add(
            request.method, request.path, dict(request.headers), body, transport=request.transport
        )
        record.fault = fault_for(request.headers, body, request.path, self.recorder)
        if record.fault in _STATUS_FAULTS:
            response = _status_fault(record.fault or "", request, MESSAGES)
        else:
            prompt = parsing.from_messages(body)
            count = sum(words(t) for t in prompt.texts)
            response = web.Response(body=_encode({"input_tokens": count}), content_type="application/json")
            record.completed = True
        record.status = response.status
        return response

    async def _handle(self, request: web.Request, protocol: str) -> web.StreamResponse:
        try:
            body = _decode(await request.read())
        except msgspec.DecodeError as exc:
            self.recorder.add(
                request.method, request.path, dict(request.headers), None, transport=request.transport
            ).status = 400
            return _error(400, f"invalid JSON body: {exc}", "invalid_request_error", protocol=protocol)
        record = self.recorder.add(
            request.method, request.path, dict(request.headers), body, transport=request.transport
        )
        record.stream = bool(body.get("stream"))
        record.fault = fault_for(request.headers, body, request.path, self.recorder, self.config.outage)
        try:
            response = await self._answer(request, body, record, protocol)
        except asyncio.CancelledError:
            record.closed_early = True
            raise
        except (ConnectionResetError, ConnectionError):
            record.closed_early = True
            raise
        record.status = response.status
        return response

    async def _answer(
        self, request: web.Request, body: dict[str, Any], record: RequestRecord, protocol: str
    ) -> web.StreamResponse:
        chat = protocol == CHAT
        await asyncio.sleep(millis(request.headers, "x-mock-latency-ms", self.config.latency_ms))
        fault = record.fault
        if fault in _STATUS_FAULTS:
            return _status_fault(fault or "", request, protocol)
        if fault == "drop-before":
            _drop(request)
            return web.Response(status=499)
        if fault == "timeout":
            await asyncio.sleep(self.config.timeout_sleep_s)
        prompt = _PARSERS[protocol](body)
        reply = decide(prompt)
        model = prompt.model or "mock-model"
        rid = f"{record.seq:06d}"
        reasoning = protocol == RESPONSES and bool(body.get("reasoning"))
        thinking = protocol == MESSAGES and (body.get("thinking") or {}).get("type") == "enabled"
        if record.stream:
            frames = _frames(reply, model, rid, protocol, body=body, reasoning=reasoning or thinking)
            return await self._stream(
                request, record, frames, _stream_error(request.headers, model, rid, protocol)
            )
        if fault == "drop":
            _drop(request)
            return web.Response(status=499)
        if fault == "malformed":
            record.completed = True
            return web.Response(body=b"{not json", content_type="application/json")
        if fault == "stream-error":
            code = request.headers.get("x-mock-error-code", "server_error")
            failed = wire.error_body(f"The mock failed ({code})", "server_error", code)
            payload = failed if chat else wire.failed_response(model, rid, code)
            if protocol == MESSAGES:
                payload = anthropic_wire.error_body(code, f"The mock failed ({code})")
        elif protocol == MESSAGES:
            payload = anthropic_wire.message(reply, model, rid, thinking=thinking)
        elif chat:
            payload = wire.chat_completion(reply, model, rid)
        else:
            payload = wire.response(reply, model, rid, reasoning=reasoning)
        if fault == "stall":
            return await self._stalled_body(request, record, _encode(payload))
        if fault == "truncate":
            record.completed = True
            data = _encode(payload)
            return web.Response(body=data[: len(data) // 2], content_type="application/json")
        record.completed = True
        return web.Response(body=_encode(payload), content_type="application/json")

    async def _stalled_body(
        self, request: web.Request, record: RequestRecord, data: bytes
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(data)
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        await asyncio.sleep(millis(request.headers, "x-mock-stall-ms", self.config.stall_s * 1000))
        await response.write(data[len(data) // 2 :])
        await response.write_eof()
        record.completed = True
        return response

    async def _stream(
        self,
        request: web.Request,
        record: RequestRecord,
        frames: Iterator[tuple[bool, bytes]],
        error_frame: bytes,
    ) -> web.StreamResponse:
        headers = request.headers
        delay = millis(headers, "x-mock-token-delay-ms", self.config.token_delay_ms)
        default_after = 2 if record.fault == "malformed" else self.config.drop_after
        fault_after = count(headers, "x-mock-fault-after", default_after)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        sent_pieces = 0
        for is_piece, frame in frames:
            if is_piece:
                if sent_pieces == fault_after and record.fault is not None:
                    if record.fault == "drop":
                        _drop(request)
                        return response
                    if record.fault == "malformed":
                        await response.write(b"data: {not json\n\n")
                        record.completed = True
                        return response
                    if record.fault == "truncate":
                        await response.write_eof()
                        record.completed = True
                        return response
                    if record.fault == "stream-error":
                        await response.write(error_frame)
                        await response.write_eof()
                        record.completed = True
                        return response
                    if record.fault == "stall":
                        stall = millis(headers, "x-mock-stall-ms", self.config.stall_s * 1000)
                        await asyncio.sleep(stall)
                if sent_pieces and delay:
                    await asyncio.sleep(delay)
                sent_pieces += 1
            await response.write(frame)
        await response.write_eof()
        record.completed = True
        return response


def _frames(
    reply: Reply, model: str, rid: str, protocol: str, *, body: dict[str, Any], reasoning: bool
) -> Iterator[tuple[bool, bytes]]:
    """SSE frames: chat completions as ``data:`` lines ending ``[DONE]``; responses and messages with
    ``event:`` too (``reasoning``: a reasoning item, or a thinking block)."""
    if protocol == MESSAGES:
        for is_piece, event in anthropic_wire.message_events(reply, model, rid, thinking=reasoning):
            yield is_piece, _event_frame(event)
        return
    if protocol == CHAT:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        for is_piece, chunk in wire.chat_chunks(reply, model, rid, include_usage=include_usage):
            yield is_piece, b"data: " + _encode(chunk) + b"\n\n"
        yield False, b"data: [DONE]\n\n"
        return
    events = wire.response_events(reply, model, rid, reasoning=reasoning)
    for seq, (is_piece, event) in enumerate(events):
        event["sequence_number"] = seq
        yield is_piece, _event_frame(event)


def _event_frame(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: ".encode() + _encode(event) + b"\n\n"


def _stream_error(headers: Any, model: str, rid: str, protocol: str) -> bytes:
    """The in-stream failure report of the ``stream-error`` fault (Anthropic: an ``error`` event whose
    error type is the code, default ``api_error``)."""
    if protocol == MESSAGES:
        kind = headers.get("x-mock-error-code", "api_error")
        return _event_frame(anthropic_wire.error_body(kind, f"The mock failed this stream ({kind})."))
    code = headers.get("x-mock-error-code", "server_error")
    message = f"The mock failed this stream ({code})."
    if protocol == CHAT:
        error = wire.error_body(message, "server_error", code)
        return b"data: " + _encode(error) + b"\n\ndata: [DONE]\n\n"
    if headers.get("x-mock-error-event") == "error":
        return _event_frame({"type": "error", "code": code, "message": message, "param": None})
    return _event_frame({"type": "response.failed", "response": wire.failed_response(model, rid, code)})


def _status_fault(fault: str, request: web.Request, protocol: str = CHAT) -> web.Response:
    """The error answers of the status faults (see ``faults``), in the protocol's error shape."""
    if protocol == MESSAGES:
        return _anthropic_status_fault(fault, request)
    headers = request.headers
    if fault in ("429", "503", "529"):
        error = (
            _error(429, "Rate limit reached (mock)", "rate_limit_error", "rate_limit_exceeded")
            if fault == "429"
            else _error(int(fault), "The server is overloaded (mock)", "server_error", "server_is_overloaded")
        )
        error.headers["Retry-After"] = headers.get("x-mock-retry-after", "1")
        return error
    if fault == "500":
        return _error(500, "The server had an error (mock)", "server_error")
    if fault == "401":
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        message = f"Incorrect API key provided: {token}. You can find your API key at your account page."
        return _error(401, message, "invalid_request_error", "invalid_api_key")
    if fault == "400-context":
        message = (
            "This model's maximum context length is 128000 tokens. However, your messages resulted in "
            "200000 tokens. Please reduce the length of the messages."
        )
        return _error(400, message, "invalid_request_error", "context_length_exceeded", "messages")
    status = count(headers, "x-mock-status", 400)
    kind = headers.get("x-mock-error-type", "invalid_request_error")
    return _error(status, f"The mock answered HTTP {status}.", kind, headers.get("x-mock-error-code"))


def _anthropic_status_fault(fault: str, request: web.Request) -> web.Response:
    """Anthropic's answers: 429 ``rate_limit_error``, 503 ``api_error`` and 529 ``overloaded_error``
    (with ``retry-after``), 500 ``api_error``, 401 ``authentication_error`` quoting the ``x-api-key``
    received, 400 ``prompt is too long``, or ``status`` (type from ``x-mock-error-type``)."""
    headers = request.headers
    answers = {
        "429": (429, "rate_limit_error", "Number of request tokens has exceeded your rate limit (mock)."),
        "503": (503, "api_error", "Service unavailable (mock)."),
        "529": (529, "overloaded_error", "Overloaded (mock)."),
        "500": (500, "api_error", "Internal server error (mock)."),
        "401": (401, "authentication_error", f"invalid x-api-key: {headers.get('x-api-key', '')}"),
        "400-context": (400, "invalid_request_error", "prompt is too long: 200000 tokens > 199999 maximum"),
    }
    status, kind, message = answers.get(fault) or (
        count(headers, "x-mock-status", 400),
        headers.get("x-mock-error-type", "invalid_request_error"),
        "The mock answered an error.",
    )
    response = web.Response(
        status=status, body=_encode(anthropic_wire.error_body(kind, message)), content_type="application/json"
    )
    if fault in ("429", "503", "529"):
        response.headers["retry-after"] = headers.get("x-mock-retry-after", "1")
    return response


def _drop(request: web.Request) -> None:
    """Cut the TCP connection under the request, mid-answer."""
    if request.transport is not None:
        request.transport.abort()


def _error(
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    param: str | None = None,
    *,
    protocol: str = CHAT,
) -> web.Response:
    shaped = anthropic_wire.error_body(kind, message) if protocol == MESSAGES else None
    return web.Response(
        status=status,
        body=_encode(shaped or wire.error_body(message, kind, code, param)),
        content_type="application/json",
    )
