"""Pure translations between the Agents SDK and neutral contracts (no HTTP, no SDK imports).

SDK objects are read by attribute and ``type``/``name`` strings only, so these functions work on the
SDK's classes and on plain stand-ins alike (unit tests use the latter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from contracts.conversations import (
    AssistantMessage,
    ConversationItem,
    ToolCallItem,
    ToolResultItem,
    UserMessage,
)
from contracts.events import AgentHandoff, TextDelta, ToolCalled, ToolOutput
from contracts.tools import ToolCall, ToolResult
from contracts.usage import Usage

TEXT_DELTA_TYPES = frozenset({"response.output_text.delta"})
StepEvent = ToolCalled | ToolOutput | AgentHandoff


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]`` (SDK raw items are pydantic models or TypedDicts)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def usage_from_sdk(usage: Any) -> Usage:
    """The SDK's ``Usage`` (``context_wrapper.usage``) as a neutral ``Usage``."""
    if usage is None:
        return Usage()
    cached = field(field(usage, "input_tokens_details"), "cached_tokens", 0) or 0
    reasoning = field(field(usage, "output_tokens_details"), "reasoning_tokens", 0) or 0
    input_tokens = field(usage, "input_tokens", 0) or 0
    output_tokens = field(usage, "output_tokens", 0) or 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=field(usage, "total_tokens", 0) or input_tokens + output_tokens,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
    )


def decode_arguments(arguments: Any) -> dict[str, Any]:
    """A tool call's JSON arguments as a dict (``{}`` when absent; ``{"_raw": text}`` when not JSON)."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return {"_raw": str(arguments)}
    return value if isinstance(value, dict) else {"_value": value}


def history_to_input(history: Sequence[ConversationItem], user_input: str) -> list[dict[str, Any]]:
    """Neutral history plus the new user text as Responses-API input items (oldest first).

    Tool calls and results are kept only in complete pairs (an upstream rejects a call without its
    output); empty assistant messages (a turn that failed before any text) are dropped.
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


def tool_result_of(item: Any, results: Mapping[str, ToolResult]) -> ToolResult:
    """The neutral result of an SDK ``ToolCallOutputItem``: the registry's own result when recorded."""
    raw = field(item, "raw_item")
    call_id = str(field(raw, "call_id", ""))
    if call_id in results:
        return results[call_id]
    return ToolResult(call_id=call_id, name="", output=str(field(item, "output", "")), is_error=False)


def handoff_of(item: Any) -> AgentHandoff:
    """The neutral handoff of an SDK ``HandoffOutputItem``."""
    return AgentHandoff(
        from_agent=str(field(field(item, "source_agent"), "name", "")),
        to_agent=str(field(field(item, "target_agent"), "name", "")),
    )


def step_of(item: Any, results: Mapping[str, ToolResult]) -> StepEvent | None:
    """A run item (``tool_call_item``, ``tool_call_output_item``, ``handoff_output_item``) as a step."""
    kind = field(item, "type")
    if kind == "tool_call_item":
        call = tool_call_of(item)
        return ToolCalled(call=call) if call is not None else None
    if kind == "tool_call_output_item":
        return ToolOutput(result=tool_result_of(item, results))
    if kind == "handoff_output_item":
        return handoff_of(item)
    return None


def steps_of(items: Iterable[Any], results: Mapping[str, ToolResult]) -> tuple[StepEvent, ...]:
    """The steps of a finished run's ``new_items``, in order."""
    return tuple(step for step in (step_of(i, results) for i in items) if step is not None)


def stream_event_to_neutral(event: Any, results: Mapping[str, ToolResult]) -> TextDelta | StepEvent | None:
    """One SDK stream event as a neutral event, or None when clients need not see it."""
    kind = field(event, "type")
    if kind == "raw_response_event":
        data = field(event, "data")
        if field(data, "type") in TEXT_DELTA_TYPES:
            delta = field(data, "delta", "")
            return TextDelta(delta=delta) if delta else None
        return None
    if kind == "run_item_stream_event":
        name = field(event, "name")
        if name in ("tool_called", "tool_output", "handoff_occured"):
            return step_of(field(event, "item"), results)
    return None
