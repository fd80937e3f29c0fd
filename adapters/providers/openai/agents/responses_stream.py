"""Neutral model events as the Responses stream events the SDK consumes from ``Model.stream_response``.

Per model call: ``response.created``; for text, ``output_item.added`` (message) and
``content_part.added`` once, then one ``output_text.delta`` per ``ModelTextDelta``; for each tool call,
``output_item.added`` (function call) and ``function_call_arguments.delta`` per argument delta; every
open item is closed with its ``*.done`` events; last, ``response.completed`` carrying the whole
``Response`` built from ``ModelDone`` (the SDK takes the turn's items from it, and raises "Model did
not produce a final response!" without it). Events are built without validation (``build``).
"""

from __future__ import annotations

from typing import Any

from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)

from adapters.providers.openai.agents.output_items import (
    build,
    call_item_id,
    function_call_item,
    message_item,
    output_items,
    text_part,
    whole_response,
)
from contracts.models import (
    ModelEvent,
    ModelResponse,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
)
from contracts.tools import ToolCall


class _OpenCall:
    __slots__ = ("arguments", "call", "output_index")

    def __init__(self, call: ToolCall, output_index: int) -> None:
        self.call = call
        self.output_index = output_index
        self.arguments: list[str] = []


class ResponsesStream:
    """Translates one model call's neutral events; ``done`` is set once ``ModelDone`` was seen."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.done: ModelResponse | None = None
        self._seq = 0
        self._outputs = 0
        self._text: list[str] | None = None
        self._text_index = 0
        self._calls: dict[int, _OpenCall] = {}

    def _next(self) -> int:
        self._seq += 1
        return self._seq - 1

    def created(self) -> Any:
        """The first event."""
        pending = whole_response(ModelResponse(), [], status="in_progress")
        return build(
            ResponseCreatedEvent, type="response.created", response=pending, sequence_number=self._next()
        )

    def feed(self, event: ModelEvent) -> list[Any]:
        """The SDK events for one neutral event."""
        if isinstance(event, ModelTextDelta):
            return self._text_delta(event.delta)
        if isinstance(event, ModelToolCallDelta):
            return self._arguments_delta(event)
        if isinstance(event, ModelToolCallStart):
            events = self._close_text()
            call = ToolCall(call_id=event.call_id, name=event.name, arguments={})
            opened = _OpenCall(call, self._output_index())
            self._calls[event.index] = opened
            item = function_call_item(call, arguments="", status="in_progress")
            events.append(self._item_added(item, opened.output_index))
            return events
        return self._finish(event.response)

    def _output_index(self) -> int:
        self._outputs += 1
        return self._outputs - 1

    def _item_added(self, item: Any, index: int) -> Any:
        return build(
            ResponseOutputItemAddedEvent,
            type="response.output_item.added",
            item=item,
            output_index=index,
            sequence_number=self._next(),
        )

    def _item_done(self, item: Any, index: int) -> Any:
        return build(
            ResponseOutputItemDoneEvent,
            type="response.output_item.done",
            item=item,
            output_index=index,
            sequence_number=self._next(),
        )

    def _text_delta(self, delta: str) -> list[Any]:
        events: list[Any] = []
        if self._text is None:
            self._text = []
            self._text_index = self._output_index()
            events.append(
                self._item_added(message_item(self.message_id, "", status="in_progress"), self._text_index)
            )
            events.append(
                build(
                    ResponseContentPartAddedEvent,
                    type="response.content_part.added",
                    item_id=self.message_id,
                    output_index=self._text_index,
                    content_index=0,
                    part=text_part(""),
                    sequence_number=self._next(),
                )
            )
        self._text.append(delta)
        events.append(
            build(
                ResponseTextDeltaEvent,
                type="response.output_text.delta",
                item_id=self.message_id,
                output_index=self._text_index,
                content_index=0,
                delta=delta,
                logprobs=[],
                sequence_number=self._next(),
            )
        )
        return events

    def _close_text(self) -> list[Any]:
        if self._text is None:
            return []
        text = "".join(self._text)
        self._text = None
        index = self._text_index
        return [
            build(
                ResponseTextDoneEvent,
                type="response.output_text.done",
                item_id=self.message_id,
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
                sequence_number=self._next(),
            ),
            build(
                ResponseContentPartDoneEvent,
                type="response.content_part.done",
                item_id=self.message_id,
                output_index=index,
                content_index=0,
                part=text_part(text),
                sequence_number=self._next(),
            ),
            self._item_done(message_item(self.message_id, text), index),
        ]

    def _arguments_delta(self, event: ModelToolCallDelta) -> list[Any]:
        opened = self._calls.get(event.index)
        if opened is None:
            return []
        opened.arguments.append(event.arguments)
        return [
            build(
                ResponseFunctionCallArgumentsDeltaEvent,
                type="response.function_call_arguments.delta",
                item_id=call_item_id(opened.call.call_id),
                output_index=opened.output_index,
                delta=event.arguments,
                sequence_number=self._next(),
            )
        ]

    def _close_calls(self) -> list[Any]:
        events: list[Any] = []
        for opened in self._calls.values():
            arguments = "".join(opened.arguments)
            events.append(
                build(
                    ResponseFunctionCallArgumentsDoneEvent,
                    type="response.function_call_arguments.done",
                    item_id=call_item_id(opened.call.call_id),
                    output_index=opened.output_index,
                    arguments=arguments,
                    name=opened.call.name,
                    sequence_number=self._next(),
                )
            )
            item = function_call_item(opened.call, arguments=arguments)
            events.append(self._item_done(item, opened.output_index))
        self._calls.clear()
        return events

    def _finish(self, response: ModelResponse) -> list[Any]:
        events = [*self._close_text(), *self._close_calls()]
        self.done = response
        completed = whole_response(response, output_items(response, self.message_id))
        events.append(
            build(
                ResponseCompletedEvent,
                type="response.completed",
                response=completed,
                sequence_number=self._next(),
            )
        )
        return events
