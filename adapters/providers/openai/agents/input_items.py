"""The SDK's model input (Responses-format items) as neutral model messages.

Input items arrive as dicts (what the runtime passes, and what the SDK replays from earlier responses) or
as ``openai.types`` pydantic items; both are read as dicts. Consecutive assistant-side items (reasoning,
an assistant message, function calls, in that order) become one ``AssistantReply``, as a model call
produced them; a tool output closes it. Call ids are kept as they are. Reasoning items travel as
``OpaquePart(protocol="openai.responses")``; opaque parts of other protocols come back here from the
reasoning items ``output_items`` made for them (marked with ``OPAQUE_KEY``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from contracts.models import (
    AssistantReply,
    ContentPart,
    ImagePart,
    ModelMessage,
    OpaquePart,
    SystemPrompt,
    TextPart,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall, ToolResult

RESPONSES_PROTOCOL = "openai.responses"
OPAQUE_KEY = "switchboard_opaque"
"""Key of a reasoning item that carries another protocol's ``OpaquePart`` through the SDK."""

_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text"})
_RANK = {"reasoning": 0, "message": 1, "function_call": 2}

Unsupported = Callable[[str], Exception]
"""Builds the error raised for an input the neutral layer cannot carry (given what it is)."""


def as_dict(item: Any) -> dict[str, Any]:
    """An input item or content part as a dict (pydantic items are dumped with the fields they set)."""
    if isinstance(item, dict):
        return item
    dump = getattr(item, "model_dump", None)
    if dump is None:
        raise TypeError(f"unexpected input item {type(item).__name__}")
    value: dict[str, Any] = dump(exclude_unset=True)
    return value


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


def _text_of(content: Any, unsupported: Unsupported) -> str:
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for raw in content or ():
        part = as_dict(raw)
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            texts.append(str(part.get("text", "")))
        elif kind == "refusal":
            texts.append(str(part.get("refusal", "")))
        else:
            raise unsupported(f"content part type {kind!r} here")
    return "".join(texts)


def _user_parts(content: Any, unsupported: Unsupported) -> tuple[ContentPart, ...]:
    if isinstance(content, str):
        return (TextPart(text=content),)
    parts: list[ContentPart] = []
    for raw in content or ():
        part = as_dict(raw)
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            parts.append(TextPart(text=str(part.get("text", ""))))
        elif kind == "input_image" and part.get("image_url"):
            detail = part.get("detail")
            parts.append(
                ImagePart(url=str(part["image_url"]), detail=detail if detail in ("low", "high") else None)
            )
        else:
            raise unsupported(f"input content of type {kind!r} (only text and image URLs are)")
    return tuple(parts)


def _opaque(item: dict[str, Any]) -> OpaquePart:
    carried = item.get(OPAQUE_KEY)
    if isinstance(carried, dict):
        return OpaquePart(protocol=str(carried.get("protocol", "")), data=dict(carried.get("data") or {}))
    return OpaquePart(protocol=RESPONSES_PROTOCOL, data=item)


class _Reply:
    """An assistant reply being assembled from consecutive items."""

    __slots__ = ("calls", "opaque", "rank", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: list[ToolCall] = []
        self.opaque: list[OpaquePart] = []
        self.rank = -1

    def takes(self, kind: str) -> bool:
        rank = _RANK[kind]
        return rank > self.rank or (rank == self.rank and kind != "message")

    def message(self) -> AssistantReply:
        return AssistantReply(
            text="".join(self.text), tool_calls=tuple(self.calls), opaque=tuple(self.opaque)
        )


def to_messages(
    system: str | None,
    items: str | list[Any],
    results: Mapping[str, ToolResult],
    unsupported: Unsupported,
) -> tuple[ModelMessage, ...]:
    """Instructions and input items as neutral messages. ``results`` are the turn's recorded tool
    results by call id (their names and error flags win over what the items say)."""
    messages: list[ModelMessage] = [SystemPrompt(text=system)] if system else []
    if isinstance(items, str):
        messages.append(UserPrompt.of(items))
        return tuple(messages)
    names: dict[str, str] = {}
    reply: _Reply | None = None
    for raw in items:
        item = as_dict(raw)
        kind = item.get("type") or "message"
        role = item.get("role")
        if kind in _RANK and (kind != "message" or role == "assistant"):
            if reply is None or not reply.takes(kind):
                if reply is not None:
                    messages.append(reply.message())
                reply = _Reply()
            reply.rank = _RANK[kind]
            if kind == "reasoning":
                reply.opaque.append(_opaque(item))
            elif kind == "message":
                reply.text.append(_text_of(item.get("content"), unsupported))
            else:
                call_id = str(item.get("call_id", ""))
                names[call_id] = str(item.get("name", ""))
                arguments = decode_arguments(item.get("arguments"))
                reply.calls.append(ToolCall(call_id=call_id, name=names[call_id], arguments=arguments))
            continue
        if reply is not None:
            messages.append(reply.message())
            reply = None
        if kind == "function_call_output":
            messages.append(_tool_return(item, names, results, unsupported))
        elif kind == "message" and role == "user":
            messages.append(UserPrompt(content=_user_parts(item.get("content"), unsupported)))
        elif kind == "message" and role in ("system", "developer"):
            messages.append(SystemPrompt(text=_text_of(item.get("content"), unsupported)))
        else:
            raise unsupported(f"input item of type {kind!r}")
    if reply is not None:
        messages.append(reply.message())
    return tuple(messages)


def _tool_return(
    item: dict[str, Any],
    names: Mapping[str, str],
    results: Mapping[str, ToolResult],
    unsupported: Unsupported,
) -> ToolReturn:
    call_id = str(item.get("call_id", ""))
    output = item.get("output")
    text = output if isinstance(output, str) else _text_of(output, unsupported)
    recorded = results.get(call_id)
    if recorded is not None:
        return ToolReturn(call_id=call_id, name=recorded.name, output=text, is_error=recorded.is_error)
    return ToolReturn(call_id=call_id, name=names.get(call_id, ""), output=text)
