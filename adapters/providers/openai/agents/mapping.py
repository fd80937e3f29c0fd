"""Translations between the SDK's run (input items, run items, stream events) and neutral contracts.

SDK objects are read by attribute and ``type``/``name`` strings only, so these functions work on the
SDK's classes and on plain stand-ins alike (unit tests use the latter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from adapters.providers.openai.agents.input_items import decode_arguments
from contracts.conversations import (
    AssistantMessage,
    ConversationItem,
    ToolCallItem,
    ToolResultItem,
    UserMessage,
)
from contracts.events import AgentHandoff, TextDelta, ToolCalled, ToolOutput
from contracts.tools import ToolCall, ToolResult

TEXT_DELTA_TYPES = frozenset({"response.output_text.delta"})
StepEvent = ToolCalled | ToolOutput | AgentHandoff


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]`` (SDK raw items are pydantic models or TypedDicts)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def history_to_input(history: Sequence[ConversationItem], user_input: str) -> list[dict[str, Any]]:
    """Neutral history plus the new user text as Responses-API input items (oldest first).

    Tool calls and results are kept only in complete pairs (an upstream rejects a call without its
    output), with their call ids; empty assistant messages (a turn that failed before any text) are
    dropped.
    """
    calls = {i.call_id for i in history if isinstance(i, ToolCallItem)}
    results = {i.call_id for i in history if isinstance(i, ToolResultItem)}
    paired = calls & results
    items: list[dict[str, Any]] = []
    for item in history:
        if isinstance(item, UserMessage):
            items.append({"role": "user", "content": item.text})
        elif isinstance(item, AssistantMessage):
            if item.text:
                items.append({"role": "assistant", "content": item.text})
        elif isinstance(item, ToolCallItem) and item.call_id in paired:
            arguments = msgspec.json.encode(item.arguments).decode()
            items.append(
                {"type": "function_call", "call_id": item.call_id, "name": item.name, "arguments": arguments}
            )
        elif isinstance(item, ToolResultItem) and item.call_id in paired:
            items.append({"type": "function_call_output", "call_id": item.call_id, "output": item.output})
    items.append({"role": "user", "content": user_input})
    return items


def history_results(history: Iterable[ConversationItem]) -> dict[str, ToolResult]:
    """The stored tool results by call id (their names and error flags, which input items lack)."""
    return {
        item.call_id: ToolResult(
            call_id=item.call_id, name=item.name, output=item.output, is_error=item.is_error
        )
        for item in history
        if isinstance(item, ToolResultItem)
    }


def tool_call_of(item: Any) -> ToolCall | None:
    """The neutral call of an SDK ``ToolCallItem`` (None for a non-function tool)."""
    raw = field(item, "raw_item")
    if field(raw, "type") not in ("function_call", None) or field(raw, "name") is None:
        return None
    return ToolCall(
        call_id=str(field(raw, "call_id", "")),
        name=str(field(raw, "name")),
        arguments=decode_arguments(field(raw, "arguments")),
    )


def handoff_of(item: Any) -> AgentHandoff:
    """The neutral handoff of an SDK ``HandoffOutputItem``."""
    return AgentHandoff(
        from_agent=str(field(field(item, "source_agent"), "name", "")),
        to_agent=str(field(field(item, "target_agent"), "name", "")),
    )


class StepMapper:
    """Run items and stream events of one run as neutral steps. Tool results are the registry's own
    (recorded in ``results``); an output the registry did not produce keeps the name of its call."""

    def __init__(self, results: Mapping[str, ToolResult]) -> None:
        self._results = results
        self._names: dict[str, str] = {}

    def tool_result(self, item: Any) -> ToolResult:
        """The neutral result of an SDK ``ToolCallOutputItem``."""
        raw = field(item, "raw_item")
        call_id = str(field(raw, "call_id", ""))
        recorded = self._results.get(call_id)
        if recorded is not None:
            return recorded
        output = field(item, "output", "")
        text = output if isinstance(output, str) else msgspec.json.encode(output).decode()
        return ToolResult(call_id=call_id, name=self._names.get(call_id, ""), output=text)

    def step(self, item: Any) -> StepEvent | None:
        """A run item (``tool_call_item``, ``tool_call_output_item``, ``handoff_output_item``) as a step."""
        kind = field(item, "type")
        if kind == "tool_call_item":
            call = tool_call_of(item)
            if call is None:
                return None
            self._names[call.call_id] = call.name
            return ToolCalled(call=call)
        if kind == "tool_call_output_item":
            return ToolOutput(result=self.tool_result(item))
        if kind == "handoff_output_item":
            return handoff_of(item)
        return None

    def steps(self, items: Iterable[Any]) -> tuple[StepEvent, ...]:
        """The steps of a finished run's ``new_items``, in order."""
        return tuple(step for step in map(self.step, items) if step is not None)

    def event(self, event: Any) -> TextDelta | StepEvent | None:
        """One SDK stream event as a neutral event, or None when clients need not see it."""
        kind = field(event, "type")
        if kind == "raw_response_event":
            data = field(event, "data")
            if field(data, "type") in TEXT_DELTA_TYPES:
                delta = field(data, "delta", "")
                return TextDelta(delta=delta) if delta else None
            return None
        if kind == "run_item_stream_event" and field(event, "name") in (
            "tool_called",
            "tool_output",
            "handoff_occured",
        ):
            return self.step(field(event, "item"))
        return None
