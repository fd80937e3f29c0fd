"""Messages answers: the neutral response as a ``message``, neutral events as Anthropic's event sequence,
pass-through bytes as they came.

A stream is ``message_start``, per block ``content_block_start`` / ``content_block_delta`` (``text_delta``,
``input_json_delta``) / ``content_block_stop``, then ``message_delta`` (stop reason, usage) and
``message_stop``; it ends exactly once: ``message_stop``, or one ``error`` event (which the ``anthropic``
client raises); never a silent truncation. Neutral usage is known only at the end: ``message_start``
carries zeros and ``message_delta`` every count (the client's accumulated message takes them from there).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import structlog

from backend.http.surfaces.anthropic_errors import stream_error
from backend.http.surfaces.anthropic_messages.wire import (
    BlockOut,
    MessageOut,
    TextOut,
    ToolUseOut,
    UsageOut,
)
from contracts.call_ids import restricted
from contracts.errors import DomainError
from contracts.models import (
    PROTOCOL_ANTHROPIC_MESSAGES,
    ModelDone,
    ModelEvent,
    ModelResponse,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    WireFrame,
)
from contracts.usage import Usage

log = structlog.get_logger("switchboard.http")
_encode = msgspec.json.Encoder().encode
_INTERNAL = DomainError("the stream failed unexpectedly; it has been logged")
PING: Final = b'event: ping\ndata: {"type": "ping"}\n\n'
STOP: Final[dict[str, str]] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def usage_out(usage: Usage) -> UsageOut:
    """Anthropic's usage: ``input_tokens`` without the cache parts (they are reported beside it)."""
    read, written = usage.cached_tokens, usage.cache_write_tokens
    return UsageOut(
        input_tokens=max(0, usage.input_tokens - read - written),
        output_tokens=usage.output_tokens,
        cache_read_input_tokens=read,
        cache_creation_input_tokens=written,
    )


def message_body(response: ModelResponse, *, model: str) -> bytes:
    """A whole ``message`` for a neutral response (opaque blocks of this protocol first, then text,
    then tool uses)."""
    content: list[BlockOut] = [
        msgspec.Raw(_encode(p.data)) for p in response.opaque if p.protocol == PROTOCOL_ANTHROPIC_MESSAGES
    ]
    if response.text or not response.tool_calls:
        content.append(TextOut(text=response.text))
    content.extend(
        ToolUseOut(id=restricted(c.call_id), name=c.name, input=c.arguments) for c in response.tool_calls
    )
    return _encode(
        MessageOut(
            id=message_id(),
            model=response.model or model,
            content=content,
            stop_reason=STOP[response.finish_reason],
            usage=usage_out(response.usage),
        )
    )


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + _encode({"type": kind, **payload}) + b"\n\n"


@dataclass(slots=True)
class EventWriter:
    """Frames of one neutral stream: blocks opened and closed as text and tool calls come."""

    model: str
    id: str = field(default_factory=message_id)
    started: bool = False
    open_block: int | None = None
    next_block: int = 0
    blocks_of_calls: dict[int, int] = field(default_factory=dict)

    def _start(self) -> bytes:
        self.started = True
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"message": message})

    def _open(self, block: dict[str, Any], out: list[bytes]) -> int:
        self._close(out)
        index, self.next_block = self.next_block, self.next_block + 1
        self.open_block = index
        out.append(_event("content_block_start", {"index": index, "content_block": block}))
        return index

    def _close(self, out: list[bytes]) -> None:
        if self.open_block is not None:
            out.append(_event("content_block_stop", {"index": self.open_block}))
            self.open_block = None

    def frames(self, event: ModelEvent) -> list[bytes]:
        out: list[bytes] = [] if self.started else [self._start()]
        if type(event) is ModelTextDelta:
            if self.open_block is None or self.open_block in self.blocks_of_calls.values():
                self._open({"type": "text", "text": ""}, out)
            delta = {"type": "text_delta", "text": event.delta}
            out.append(_event("content_block_delta", {"index": self.open_block, "delta": delta}))
        elif type(event) is ModelToolCallStart:
            block = {"type": "tool_use", "id": restricted(event.call_id), "name": event.name, "input": {}}
            self.blocks_of_calls[event.index] = self._open(block, out)
        elif type(event) is ModelToolCallDelta:
            index = self.blocks_of_calls.get(event.index)
            if index is not None and event.arguments:
                delta = {"type": "input_json_delta", "partial_json": event.arguments}
                out.append(_event("content_block_delta", {"index": index, "delta": delta}))
        elif type(event) is ModelDone:
            self._done(event.response, out)
        return out

    def _done(self, response: ModelResponse, out: list[bytes]) -> None:
        if self.next_block == 0:  # an empty answer still has its (empty) text block
            self._open({"type": "text", "text": ""}, out)
        self._close(out)
        usage = msgspec.to_builtins(usage_out(response.usage))
        delta = {"stop_reason": STOP[response.finish_reason], "stop_sequence": None}
        out.append(_event("message_delta", {"delta": delta, "usage": usage}))
        out.append(_event("message_stop", {}))


async def event_stream(
    events: AsyncIterator[WireFrame | ModelEvent], *, model: str
) -> AsyncGenerator[bytes, None]:
    """SSE bytes for the client: pass-through frames relayed, neutral events encoded; one terminal event
    whatever happens."""
    writer = EventWriter(model=model)
    ended = False
    try:
        async for event in events:
            if type(event) is WireFrame:
                if event.data:
                    yield event.data
                ended = ended or b"event: message_stop" in event.data
                continue
            for frame in writer.frames(event):  # type: ignore[arg-type]
                yield frame
            ended = ended or type(event) is ModelDone
    except DomainError as exc:
        ended = True
        yield stream_error(exc)
    except Exception as exc:  # a bug below must still end the stream with one terminal event
        log.error("anthropic_messages.stream_failed", error=type(exc).__name__, exc_info=exc)
        ended = True
        yield stream_error(_INTERNAL)
    if not ended:
        yield stream_error(_INTERNAL)
