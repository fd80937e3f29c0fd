"""OpenAI Chat Completions streams: each ``data:`` chunk decoded by one typed decoder into neutral events.

Text deltas become ``ModelTextDelta``; tool-call deltas are assembled by their ``index`` (a new ``id`` at a
known index starts a new call, for servers that number every call 0): ``ModelToolCallStart`` once the
call's name is known, then one ``ModelToolCallDelta`` per argument fragment. The stream is complete at
``[DONE]``, or at its end once a ``finish_reason`` was seen; an error chunk (``{"error": {...}}``, as vLLM
and proxies send) raises its classified failure.
"""

from __future__ import annotations

from typing import Final

import msgspec

from adapters.providers.http.failures import dropped, failure
from adapters.providers.openai.wire.chat_completions import (
    ErrorW,
    UsageW,
    finish_reason,
    raise_error,
    usage_of,
)
from adapters.providers.openai.wire.encoding import decode_arguments, new_call_id
from contracts.models import ModelEvent, ModelResponse, ModelTextDelta, ModelToolCallDelta, ModelToolCallStart
from contracts.tools import ToolCall

_NOTHING: Final[tuple[ModelEvent, ...]] = ()


class DeltaFunctionW(msgspec.Struct, gc=False):
    name: str | None = None
    arguments: str | None = None


class DeltaToolCallW(msgspec.Struct, gc=False):
    index: int = 0
    id: str | None = None
    function: DeltaFunctionW | None = None


class DeltaW(msgspec.Struct, gc=False):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[DeltaToolCallW] | None = None


class ChunkChoiceW(msgspec.Struct, gc=False):
    delta: DeltaW | None = None
    finish_reason: str | None = None


class ChunkW(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    choices: list[ChunkChoiceW] = []
    usage: UsageW | None = None
    error: ErrorW | None = None


_decode_chunk = msgspec.json.Decoder(ChunkW).decode


class _Call:
    __slots__ = ("arguments", "call_id", "name", "started")

    def __init__(self, call_id: str | None) -> None:
        self.call_id = call_id
        self.name = ""
        self.arguments: list[str] = []
        self.started = False


class ChatStreamDecoder:
    """One stream's state: ``feed`` each SSE event, then ``result`` (or ``done`` says it is over)."""

    __slots__ = (
        "_by_index",
        "_calls",
        "_finish",
        "_id",
        "_model",
        "_provider",
        "_text",
        "_usage",
        "done",
        "terminal",
    )

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._text: list[str] = []
        self._calls: list[_Call] = []
        self._by_index: dict[int, int] = {}
        self._finish: str | None = None
        self._usage: UsageW | None = None
        self._model = ""
        self._id: str | None = None
        self.done = False
        """``[DONE]`` arrived: nothing more will come."""
        self.terminal = False
        """The answer is complete (a finish reason or ``[DONE]`` arrived)."""

    def feed(self, _event: str, data: bytes) -> tuple[ModelEvent, ...]:
        """The neutral events of one chunk."""
        if data == b"[DONE]":
            self.done = self.terminal = True
            return _NOTHING
        chunk = _decode_chunk(data)
        if chunk.error is not None:
            raise_error(self._provider, chunk.error)
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.model and not self._model:
            self._model = chunk.model
            self._id = chunk.id
        if not chunk.choices:
            return _NOTHING
        choice = chunk.choices[0]
        if choice.finish_reason:
            self._finish = choice.finish_reason
            self.terminal = True
        delta = choice.delta
        if delta is None:
            return _NOTHING
        content = delta.content or delta.refusal
        if delta.tool_calls:
            events = self._tool_deltas(delta.tool_calls)
            if content:
                self._text.append(content)
                return (ModelTextDelta(delta=content), *events)
            return events
        if content:
            self._text.append(content)
            return (ModelTextDelta(delta=content),)
        return _NOTHING

    def _tool_deltas(self, deltas: list[DeltaToolCallW]) -> tuple[ModelEvent, ...]:
        events: list[ModelEvent] = []
        calls = self._calls
        for d in deltas:
            position = self._by_index.get(d.index)
            if position is None or (d.id and calls[position].call_id and d.id != calls[position].call_id):
                position = self._by_index[d.index] = len(calls)
                calls.append(_Call(d.id))
            call = calls[position]
            if d.id and not call.call_id:
                call.call_id = d.id
            function = d.function
            if function is None:
                continue
            if not call.started and function.name:
                call.name = function.name
                call.started = True
                call.call_id = call.call_id or new_call_id()
                events.append(ModelToolCallStart(index=position, call_id=call.call_id, name=call.name))
                if call.arguments:
                    events.append(ModelToolCallDelta(index=position, arguments="".join(call.arguments)))
            if function.arguments:
                call.arguments.append(function.arguments)
                if call.started:
                    events.append(ModelToolCallDelta(index=position, arguments=function.arguments))
        return tuple(events)

    def result(self) -> ModelResponse:
        """The assembled answer; a stream that ended before it was complete fails as ``dropped``."""
        if not self.terminal:
            raise dropped(self._provider)
        calls = []
        for call in self._calls:
            if not call.started or call.call_id is None:
                raise failure(
                    self._provider, "malformed", phrase="upstream streamed a tool call without a name"
                )
            arguments = decode_arguments(self._provider, "".join(call.arguments))
            calls.append(ToolCall(call_id=call.call_id, name=call.name, arguments=arguments))
        return ModelResponse(
            text="".join(self._text),
            tool_calls=tuple(calls),
            finish_reason=finish_reason(self._finish, has_calls=bool(calls)),
            usage=usage_of(self._usage),
            provider=self._provider,
            model=self._model,
            response_id=self._id or None,
        )
