"""OpenAI Responses as clients send it and expect it back (the server side of the protocol)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

NonEmpty = Annotated[str, Meta(min_length=1)]

# -- request ----------------------------------------------------------------------------------------------


class InputTextIn(msgspec.Struct, kw_only=True, tag="input_text", tag_field="type"):
    text: str


class OutputTextIn(msgspec.Struct, kw_only=True, tag="output_text", tag_field="type"):
    text: str


class PlainTextIn(msgspec.Struct, kw_only=True, tag="text", tag_field="type"):
    text: str


class InputImageIn(msgspec.Struct, kw_only=True, tag="input_image", tag_field="type"):
    """An image by URL (``https:`` or a ``data:`` URL); images by ``file_id`` are not supported."""

    image_url: NonEmpty
    detail: Literal["auto", "low", "high"] | None = None


ContentIn = InputTextIn | OutputTextIn | PlainTextIn | InputImageIn
"""A content part: text (``input_text``, ``output_text``, ``text``) or ``input_image``."""


class ItemIn(msgspec.Struct, kw_only=True):
    """An input item: a message (``role``), a ``function_call`` the model made, its
    ``function_call_output``, or a ``reasoning`` item (dropped)."""

    type: Literal["message", "function_call", "function_call_output", "reasoning"] | None = None
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[ContentIn] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[ContentIn] | None = None
    id: str | None = None


class FunctionToolIn(msgspec.Struct, kw_only=True):
    type: Literal["function"]
    name: NonEmpty
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class TextFormatIn(msgspec.Struct, kw_only=True):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str = "output"
    schema: dict[str, Any] = {}
    strict: bool | None = None


class ToolChoiceIn(msgspec.Struct, kw_only=True):
    type: Literal["function"] = "function"
    name: NonEmpty


class TextIn(msgspec.Struct, kw_only=True):
    format: TextFormatIn | None = None


class ResponsesRequestIn(msgspec.Struct, kw_only=True):
    model: NonEmpty
    input: str | Annotated[list[ItemIn], Meta(min_length=1)]
    instructions: str | None = None
    tools: list[FunctionToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | ToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    text: TextIn | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: Annotated[int, Meta(ge=1)] | None = None
    stream: bool | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None


# -- response ---------------------------------------------------------------------------------------------


class OutputTextOut(msgspec.Struct, kw_only=True):
    type: str = "output_text"
    text: str
    annotations: list[Any] = []


class MessageItemOut(msgspec.Struct, kw_only=True, tag="message", tag_field="type"):
    id: str
    role: str = "assistant"
    status: str
    content: list[OutputTextOut]


class FunctionCallItemOut(msgspec.Struct, kw_only=True, tag="function_call", tag_field="type"):
    id: str
    call_id: str
    name: str
    arguments: str
    status: str


OutputItem = MessageItemOut | FunctionCallItemOut


class InputDetailsOut(msgspec.Struct):
    cached_tokens: int = 0


class OutputDetailsOut(msgspec.Struct):
    reasoning_tokens: int = 0


class UsageOut(msgspec.Struct, kw_only=True):
    input_tokens: int
    input_tokens_details: InputDetailsOut
    output_tokens: int
    output_tokens_details: OutputDetailsOut
    total_tokens: int


class ErrorOut(msgspec.Struct, kw_only=True):
    code: str
    message: str


class ResponseOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "response"
    created_at: int
    model: str
    status: str
    output: list[OutputItem]
    usage: UsageOut | None
    error: ErrorOut | None = None
    incomplete_details: dict[str, str] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    metadata: dict[str, str] = {}
    parallel_tool_calls: bool = True
    tool_choice: Any = "auto"
    tools: list[Any] = []
    temperature: float | None = None
    top_p: float | None = None
    store: bool = True
    text: dict[str, Any] = msgspec.field(default_factory=lambda: {"format": {"type": "text"}})


class DeletedOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "response"
    deleted: bool = True
