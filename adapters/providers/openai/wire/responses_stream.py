"""OpenAI Responses streams: each event decoded by a typed decoder chosen by its name.

Read: ``response.output_text.delta`` and ``response.refusal.delta`` (text), ``response.output_item.added``
of a ``function_call`` (``ModelToolCallStart``, in output order), ``response.function_call_arguments.delta``
(``ModelToolCallDelta``), and the terminal events: ``response.completed`` / ``response.incomplete`` carry
the whole response (the final answer, with reasoning items as opaque parts), ``response.failed`` and
``error`` raise their classified failure. Every other event is skipped without decoding. A stream that ends
without a terminal event is ``dropped``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import msgspec

from adapters.providers.http.failures import dropped, from_error_code
from adapters.providers.openai.wire.encoding import decode_arguments, new_call_id
from adapters.providers.openai.wire.responses import ErrorW, ResponseW, build_response
from contracts.models import ModelEvent, ModelResponse, ModelTextDelta, ModelToolCallDelta, ModelToolCallStart
from contracts.tools import ToolCall

_NOTHING: Final[tuple[ModelEvent, ...]] = ()


class TextDeltaW(msgspec.Struct, gc=False):
    delta: str = ""


class AddedItemW(msgspec.Struct, gc=False):
    type: str = ""
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None


class ItemAddedW(msgspec.Struct, gc=False):
    output_index: int = 0
    item: AddedItemW | None = None


class ArgumentsDeltaW(msgspec.Struct, gc=False):
    output_index: int = 0
    delta: str = ""


class ResponseEventW(msgspec.Struct, gc=False):
    response: ResponseW | None = None


class ErrorEventW(msgspec.Struct, gc=False):
    code: str | int | None = None
    type: str | None = None


class _TypeW(msgspec.Struct, gc=False):
    type: str = ""


_decode_text = msgspec.json.Decoder(TextDeltaW).decode
_decode_added = msgspec.json.Decoder(ItemAddedW).decode
_decode_arguments = msgspec.json.Decoder(ArgumentsDeltaW).decode
_decode_response = msgspec.json.Decoder(ResponseEventW).decode
_decode_error = msgspec.json.Decoder(ErrorEventW).decode
_decode_type = msgspec.json.Decoder(_TypeW).decode


class _Call:
    __slots__ = ("arguments", "call_id", "name")

    def __init__(self, call_id: str, name: str) -> None:
        self.call_id = call_id
        self.name = name
        self.arguments: list[str] = []


class ResponsesStreamDecoder:
    """One stream's state: ``feed`` each SSE event, then ``result``."""

    __slots__ = ("_calls", "_final", "_positions", "_provider", "_text", "done", "terminal")

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._text: list[str] = []
        self._calls: list[_Call] = []
        self._positions: dict[int, int] = {}
        self._final: ModelResponse | None = None
        self.done = False
        """A terminal event arrived: nothing more will come."""
        self.terminal = False
        """The answer is complete."""

    def feed(self, event: str, data: bytes) -> tuple[ModelEvent, ...]:
        """The neutral events of one SSE event."""
        handler = _HANDLERS.get(event)
        if handler is None:
            if event != "message":
                return _NOTHING
            handler = _HANDLERS.get(_decode_type(data).type)
            if handler is None:
                return _NOTHING
        return handler(self, data)

    def _on_text(self, data: bytes) -> tuple[ModelEvent, ...]:
        delta = _decode_text(data).delta
        if not delta:
            return _NOTHING
        self._text.append(delta)
        return (ModelTextDelta(delta=delta),)

    def _on_item_added(self, data: bytes) -> tuple[ModelEvent, ...]:
        added = _decode_added(data)
        item = added.item
        if item is None or item.type != "function_call":
            return _NOTHING
        position = self._positions[added.output_index] = len(self._calls)
        call = _Call(item.call_id or new_call_id(), item.name or "")
        self._calls.append(call)
        start = ModelToolCallStart(index=position, call_id=call.call_id, name=call.name)
        if item.arguments:
            call.arguments.append(item.arguments)
            return start, ModelToolCallDelta(index=position, arguments=item.arguments)
        return (start,)

    def _on_arguments(self, data: bytes) -> tuple[ModelEvent, ...]:
        delta = _decode_arguments(data)
        position = self._positions.get(delta.output_index)
        if position is None or not delta.delta:
            return _NOTHING
        self._calls[position].arguments.append(delta.delta)
        return (ModelToolCallDelta(index=position, arguments=delta.delta),)

    def _on_final(self, data: bytes) -> tuple[ModelEvent, ...]:
        answer = _decode_response(data).response
        if answer is None:
            answer = ResponseW(status="completed")
        if answer.status is None:
            answer = msgspec.structs.replace(answer, status="completed")
        self._final = build_response(self._provider, answer)
        self.done = self.terminal = True
        return _NOTHING

    def _on_failed(self, data: bytes) -> tuple[ModelEvent, ...]:
        answer = _decode_response(data).response
        error = answer.error if answer is not None else None
        raise from_error_code(self._provider, _code(error))

    def _on_error(self, data: bytes) -> tuple[ModelEvent, ...]:
        error = _decode_error(data)
        raise from_error_code(self._provider, error.code if error.code is not None else error.type)

    def result(self) -> ModelResponse:
        """The final answer; a stream that ended before its terminal event fails as ``dropped``."""
        final = self._final
        if final is None:
            raise dropped(self._provider)
        if final.text or final.tool_calls or not (self._text or self._calls):
            return final
        # A terminal event without the output (some compatible servers): the streamed pieces are the answer.
        calls = tuple(
            ToolCall(
                call_id=c.call_id,
                name=c.name,
                arguments=decode_arguments(self._provider, "".join(c.arguments)),
            )
            for c in self._calls
        )
        finish = final.finish_reason if final.finish_reason != "stop" or not calls else "tool_calls"
        return msgspec.structs.replace(
            final, text="".join(self._text), tool_calls=calls, finish_reason=finish
        )


def _code(error: ErrorW | None) -> str | int | None:
    if error is None:
        return None
    return error.code if error.code is not None else error.type


_HANDLERS: Final[dict[str, Callable[[ResponsesStreamDecoder, bytes], tuple[ModelEvent, ...]]]] = {
    "response.output_text.delta": ResponsesStreamDecoder._on_text,
    "response.refusal.delta": ResponsesStreamDecoder._on_text,
    "response.output_item.added": ResponsesStreamDecoder._on_item_added,
    "response.function_call_arguments.delta": ResponsesStreamDecoder._on_arguments,
    "response.completed": ResponsesStreamDecoder._on_final,
    "response.incomplete": ResponsesStreamDecoder._on_final,
    "response.failed": ResponsesStreamDecoder._on_failed,
    "error": ResponsesStreamDecoder._on_error,
}
