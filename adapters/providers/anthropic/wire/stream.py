"""Anthropic Messages streams: each SSE event decoded by one typed decoder into neutral events.

Events: ``message_start`` (id, model, input usage), ``content_block_start`` / ``content_block_delta`` /
``content_block_stop`` per block, ``message_delta`` (stop reason, cumulative usage), ``message_stop`` (the
answer is complete), ``ping`` (nothing), ``error`` (raises its classified failure).

Blocks: ``text`` deltas become ``ModelTextDelta``; a ``tool_use`` block becomes ``ModelToolCallStart`` and
one ``ModelToolCallDelta`` per ``input_json_delta`` (the forced output tool of a structured answer streams
its JSON as text deltas instead); every other block (``thinking`` with its ``thinking_delta`` and
``signature_delta``, ``redacted_thinking``, server tool blocks) is assembled whole into an opaque part.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from adapters.providers.anthropic.wire.messages import (
    PROTOCOL,
    ErrorW,
    OutputTool,
    UsageW,
    decode_object,
    finish_reason,
    output_text,
    raise_error,
    usage_of,
)
from adapters.providers.http.failures import dropped, failure
from contracts.call_ids import original
from contracts.models import (
    ModelEvent,
    ModelResponse,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    OpaquePart,
)
from contracts.tools import ToolCall

_NOTHING: Final[tuple[ModelEvent, ...]] = ()


class StartMessageW(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    usage: UsageW | None = None


class BlockStartW(msgspec.Struct, gc=False):
    type: str = ""
    text: str | None = None
    id: str | None = None
    name: str | None = None


class DeltaW(msgspec.Struct, gc=False):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None
    citation: Any = None


class EventW(msgspec.Struct, gc=False):
    type: str = ""
    index: int = 0
    message: StartMessageW | None = None
    content_block: msgspec.Raw = msgspec.Raw()
    delta: DeltaW | None = None
    usage: UsageW | None = None
    error: ErrorW | None = None


_decode_event = msgspec.json.Decoder(EventW).decode
_decode_start = msgspec.json.Decoder(BlockStartW).decode


class _Block:
    """One content block being streamed: kind ``text``, ``call`` (a tool call), ``output`` (the forced
    output tool) or ``opaque``."""

    __slots__ = ("call", "data", "kind", "parts")

    def __init__(self, kind: str, *, call: int = -1, data: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.call = call
        self.data = data
        self.parts: list[str] = []


class MessagesStreamDecoder:
    """One stream's state: ``feed`` each SSE event, then ``result`` (``done``: ``message_stop`` came)."""

    __slots__ = (
        "_blocks",
        "_calls",
        "_finish",
        "_id",
        "_model",
        "_opaque",
        "_output",
        "_provider",
        "_text",
        "_tool",
        "_usage",
        "done",
        "terminal",
    )

    def __init__(self, provider: str, tool: OutputTool | None = None) -> None:
        self._provider = provider
        self._tool = tool
        self._text: list[str] = []
        self._output: list[str] = []
        self._calls: list[tuple[str, str, list[str]]] = []
        self._blocks: dict[int, _Block] = {}
        self._opaque: list[tuple[int, OpaquePart]] = []
        self._finish: str | None = None
        self._usage = UsageW()
        self._model = ""
        self._id: str | None = None
        self.done = False
        """``message_stop`` arrived: nothing more will come."""
        self.terminal = False
        """The answer is complete (same as ``done`` for this protocol)."""

    def feed(self, event: str, data: bytes) -> tuple[ModelEvent, ...]:
        """The neutral events of one SSE event."""
        if event == "ping":
            return _NOTHING
        decoded = _decode_event(data)
        kind = decoded.type or event
        if kind == "content_block_delta" and decoded.delta is not None:
            return self._delta(decoded.index, decoded.delta)
        if kind == "content_block_start":
            return self._start(decoded.index, decoded.content_block)
        if kind == "content_block_stop":
            return self._stop(decoded.index)
        if kind == "message_start" and decoded.message is not None:
            message = decoded.message
            self._id, self._model = message.id, message.model or ""
            self._merge_usage(message.usage)
        elif kind == "message_delta":
            if decoded.delta is not None and decoded.delta.stop_reason:
                self._finish = decoded.delta.stop_reason
            self._merge_usage(decoded.usage)
        elif kind == "message_stop":
            self.done = self.terminal = True
        elif kind == "error":
            raise_error(self._provider, decoded.error or ErrorW())
        return _NOTHING

    def _merge_usage(self, usage: UsageW | None) -> None:
        """Usage is cumulative: a later event's counts replace the earlier ones it carries."""
        if usage is None:
            return
        current = self._usage
        for field in UsageW.__struct_fields__:
            value = getattr(usage, field)
            if value is not None:
                setattr(current, field, value)

    def _start(self, index: int, raw: msgspec.Raw) -> tuple[ModelEvent, ...]:
        if not raw:
            raise failure(self._provider, "malformed", phrase="upstream started a block without content")
        block = _decode_start(raw)
        if block.type == "text":
            self._blocks[index] = _Block("text")
            if block.text:
                self._text.append(block.text)
                return (ModelTextDelta(delta=block.text),)
            return _NOTHING
        if block.type == "tool_use":
            if self._tool is not None and block.name == self._tool.name:
                self._blocks[index] = _Block("output")
                return _NOTHING
            if not block.id or not block.name:
                raise failure(
                    self._provider, "malformed", phrase="upstream streamed a tool call without a name"
                )
            position = len(self._calls)
            self._calls.append((original(block.id), block.name, []))
            self._blocks[index] = _Block("call", call=position)
            return (ModelToolCallStart(index=position, call_id=self._calls[position][0], name=block.name),)
        self._blocks[index] = _Block("opaque", data=decode_object(raw))
        return _NOTHING

    def _delta(self, index: int, delta: DeltaW) -> tuple[ModelEvent, ...]:
        block = self._blocks.get(index)
        if block is None:
            raise failure(self._provider, "malformed", phrase="upstream sent a delta for an unknown block")
        kind = block.kind
        if kind == "text":
            if delta.text:
                self._text.append(delta.text)
                return (ModelTextDelta(delta=delta.text),)
            return _NOTHING
        if kind == "call":
            if delta.partial_json:
                self._calls[block.call][2].append(delta.partial_json)
                return (ModelToolCallDelta(index=block.call, arguments=delta.partial_json),)
            return _NOTHING
        if kind == "output":
            if delta.partial_json:
                block.parts.append(delta.partial_json)
                if self._tool is not None and not self._tool.wrapped:
                    return (ModelTextDelta(delta=delta.partial_json),)
            return _NOTHING
        self._opaque_delta(block, delta)
        return _NOTHING

    @staticmethod
    def _opaque_delta(block: _Block, delta: DeltaW) -> None:
        data = block.data
        assert data is not None
        if delta.thinking is not None:
            data["thinking"] = data.get("thinking", "") + delta.thinking
        if delta.signature is not None:
            data["signature"] = delta.signature
        if delta.text is not None:
            data["text"] = data.get("text", "") + delta.text
        if delta.partial_json is not None:
            block.parts.append(delta.partial_json)
        if delta.citation is not None:
            data.setdefault("citations", []).append(delta.citation)

    def _stop(self, index: int) -> tuple[ModelEvent, ...]:
        block = self._blocks.get(index)
        if block is None:
            return _NOTHING
        if block.kind == "output" and self._tool is not None:
            streamed = "".join(block.parts)
            text = output_text(self._provider, self._tool, decode_object(streamed or "{}"))
            if not self._tool.wrapped and streamed:
                self._output.append(streamed)  # the JSON exactly as its deltas went out
                return _NOTHING
            self._output.append(text)  # not streamed (wrapped, or no delta): the value goes out whole
            return (ModelTextDelta(delta=text),)
        if block.kind == "opaque":
            data = block.data
            assert data is not None
            if block.parts:
                data["input"] = decode_object("".join(block.parts))
            self._opaque.append((index, OpaquePart(protocol=PROTOCOL, data=data)))
        return _NOTHING

    def result(self) -> ModelResponse:
        """The assembled answer; a stream that ended before ``message_stop`` fails as ``dropped``."""
        if not self.terminal:
            raise dropped(self._provider)
        calls = []
        for call_id, name, parts in self._calls:
            text = "".join(parts)
            arguments = decode_object(text) if text.strip() else {}
            calls.append(ToolCall(call_id=call_id, name=name, arguments=arguments))
        # a structured answer is the output tool's input alone (a forced tool comes without preamble)
        text = "".join(self._output) if self._output else "".join(self._text)
        return ModelResponse(
            text=text,
            tool_calls=tuple(calls),
            finish_reason=finish_reason(self._finish, has_calls=bool(calls)),
            usage=usage_of(self._usage),
            provider=self._provider,
            model=self._model,
            response_id=self._id or None,
            opaque=tuple(part for _, part in sorted(self._opaque, key=lambda pair: pair[0])),
        )
