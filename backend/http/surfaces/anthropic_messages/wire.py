"""Anthropic Messages as clients send it and expect it back (the server side of the protocol).

Inbound structs are lenient (content as a string or blocks, ``system`` as a string or text blocks) and
never reject a field they do not know: the whole body is also kept as a dict for pass-through, vendor
extras and blocks replayed verbatim. Outbound structs are what the ``anthropic`` client's ``Message`` and
stream events parse.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

NonEmpty = Annotated[str, Meta(min_length=1)]

# -- request ----------------------------------------------------------------------------------------------


class SourceIn(msgspec.Struct, kw_only=True):
    type: str
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class ResultBlockIn(msgspec.Struct, kw_only=True):
    """A block inside a ``tool_result``'s content (text, image...; only text maps to the neutral call)."""

    type: str
    text: str | None = None
    source: SourceIn | None = None


class BlockIn(msgspec.Struct, kw_only=True):
    """A content block; what the neutral mapping reads of it (the block itself stays in the raw body)."""

    type: str
    text: str | None = None
    source: SourceIn | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None
    tool_use_id: str | None = None
    content: str | list[ResultBlockIn] | None = None
    is_error: bool | None = None


class MessageIn(msgspec.Struct, kw_only=True):
    role: Literal["user", "assistant"]
    content: str | list[BlockIn]


class SystemBlockIn(msgspec.Struct, kw_only=True):
    type: str = "text"
    text: str = ""


class ToolIn(msgspec.Struct, kw_only=True):
    name: str
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None


class ToolChoiceIn(msgspec.Struct, kw_only=True):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MetadataIn(msgspec.Struct, kw_only=True):
    user_id: str | None = None


class OutputFormatIn(msgspec.Struct, kw_only=True):
    type: Literal["json_schema"]
    schema: dict[str, Any]


class MessagesRequestIn(msgspec.Struct, kw_only=True):
    """The fields this surface reads; every other field of the body is kept for pass-through."""

    model: NonEmpty
    messages: Annotated[list[MessageIn], Meta(min_length=1)]
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    system: str | list[SystemBlockIn] | None = None
    metadata: MetadataIn | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None
    output_format: OutputFormatIn | None = None


class CountTokensIn(msgspec.Struct, kw_only=True):
    model: NonEmpty
    messages: Annotated[list[MessageIn], Meta(min_length=1)]
    system: str | list[SystemBlockIn] | None = None
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None


# -- answer -----------------------------------------------------------------------------------------------


class UsageOut(msgspec.Struct, kw_only=True):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class TextOut(msgspec.Struct, tag="text", tag_field="type"):
    text: str


class ToolUseOut(msgspec.Struct, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: dict[str, Any]


BlockOut = TextOut | ToolUseOut | msgspec.Raw


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    type: str = "message"
    role: str = "assistant"
    model: str
    content: list[Any]
    """Text and tool_use blocks (``BlockOut``), and thinking blocks replayed as they came."""
    stop_reason: str | None
    stop_sequence: str | None = None
    usage: UsageOut


class CountOut(msgspec.Struct):
    input_tokens: int


class ErrorOut(msgspec.Struct):
    type: str
    message: str


class ErrorBodyOut(msgspec.Struct):
    error: ErrorOut
    type: str = "error"
