"""A minimal OpenAI Realtime WebSocket at ``GET /v1/realtime?model=...`` (GA event names).

On connect it sends ``session.created``. Client events understood:

- ``session.update`` -> ``session.updated`` (instructions kept).
- ``conversation.item.create`` with a user message of ``input_text`` parts -> ``conversation.item.created``.
- ``input_audio_buffer.append`` (base64 ``audio``) accumulates; ``input_audio_buffer.commit`` ->
  ``input_audio_buffer.committed`` and the audio becomes the pending user turn.
- ``response.create`` -> ``response.created``, ``response.output_text.delta`` pieces of
  ``Mock answer to: <text>`` (``<text>`` is ``[audio]`` for an audio turn, whose base64 audio is echoed
  back in one ``response.output_audio.delta``), ``response.output_text.done`` and ``response.done`` with
  usage (words, as for HTTP).
- ``response.cancel`` stops the answer being streamed (``response.done`` with status ``cancelled``).
Anything else -> an ``error`` event.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from ops.mock_upstream.faults import MockConfig, millis
from ops.mock_upstream.logic import pieces, words
from ops.mock_upstream.recording import Recorder, RequestRecord

_encode = msgspec.json.encode


class _Session:
    def __init__(self, ws: web.WebSocketResponse, record: RequestRecord, model: str, delay: float) -> None:
        self.ws, self.record, self.model, self.delay = ws, record, model, delay
        self.instructions = ""
        self.user_text = ""
        self.audio: list[str] = []
        self.pending_audio = ""
        self.answer: asyncio.Task[None] | None = None
        self.count = 0

    async def send(self, event: dict[str, Any]) -> None:
        self.count += 1
        await self.ws.send_str(_encode({"event_id": f"evt_{self.count}", **event}).decode())

    async def handle(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        self.record.events.append(kind)
        if kind == "session.update":
            self.instructions = str((event.get("session") or {}).get("instructions", self.instructions))
            await self.send({"type": "session.updated", "session": self._session()})
        elif kind == "conversation.item.create":
            content = (event.get("item") or {}).get("content") or []
            self.user_text = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            self.pending_audio = ""
            await self.send({"type": "conversation.item.created", "item": event.get("item")})
        elif kind == "input_audio_buffer.append":
            self.audio.append(str(event.get("audio", "")))
        elif kind == "input_audio_buffer.commit":
            self.pending_audio, self.audio, self.user_text = "".join(self.audio), [], "[audio]"
            await self.send({"type": "input_audio_buffer.committed", "item_id": f"item_{self.count}"})
        elif kind == "response.create":
            self.answer = asyncio.create_task(self._respond())
        elif kind == "response.cancel":
            if self.answer is not None and not self.answer.done():
                self.answer.cancel()
        else:
            error = {"type": "invalid_request_error", "message": f"unknown event type {kind!r}"}
            await self.send({"type": "error", "error": error})

    def _session(self) -> dict[str, Any]:
        return {
            "id": "sess_mock",
            "object": "realtime.session",
            "type": "realtime",
            "model": self.model,
            "instructions": self.instructions,
        }

    async def _respond(self) -> None:
        rid = f"resp_{self.count}"
        text = f"Mock answer to: {self.user_text}"
        status = "completed"
        await self.send({"type": "response.created", "response": {"id": rid, "status": "in_progress"}})
        try:
            if self.pending_audio:
                await self.send(
                    {"type": "response.output_audio.delta", "response_id": rid, "delta": self.pending_audio}
                )
            for index, piece in enumerate(pieces(text)):
                if index and self.delay:
                    await asyncio.sleep(self.delay)
                await self.send({"type": "response.output_text.delta", "response_id": rid, "delta": piece})
            await self.send({"type": "response.output_text.done", "response_id": rid, "text": text})
        except asyncio.CancelledError:
            status = "cancelled"
        in_tokens = words(self.instructions) + words(self.user_text)
        usage = {
            "input_tokens": in_tokens,
            "output_tokens": words(text),
            "total_tokens": in_tokens + words(text),
            "input_token_details": {"cached_tokens": in_tokens // 4},
        }
        await self.send({"type": "response.done", "response": {"id": rid, "status": status, "usage": usage}})


async def realtime_handler(
    request: web.Request, config: MockConfig, recorder: Recorder
) -> web.WebSocketResponse:
    """Serve one realtime session until either side closes."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    model = request.query.get("model", "gpt-4o-realtime-preview")
    record = recorder.add(request.method, request.path, dict(request.headers), {"model": model})
    record.status = 101
    delay = millis(request.headers, "x-mock-token-delay-ms", config.token_delay_ms)
    session = _Session(ws, record, model, delay)
    await session.send({"type": "session.created", "session": session._session()})
    try:
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await session.handle(msgspec.json.decode(message.data))
    finally:
        if session.answer is not None and not session.answer.done():
            session.answer.cancel()
    record.completed = True
    return ws
