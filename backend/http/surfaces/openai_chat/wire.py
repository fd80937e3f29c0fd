"""OpenAI Chat Completions as clients send it and expect it back (the server side of the protocol).

Inbound structs are lenient where clients differ (content as a string or parts, ``developer`` or
``system``) and never reject a field they do not know: the whole body is also kept as a dict for
pass-through and vendor extras. Outbound structs are what the ``openai`` client's ``ChatCompletion`` and
``ChatCompletionChunk`` parse.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

NonEmpty = Annotated[str, Meta(min_length=1)]
Positive = Annotated[int, Meta(ge=1)]

# -- request ----------------------------------------------------------------------------------------------


class ImageUrlIn(msgspec.Struct, kw_only=True):
    url: str
    detail: str | None = None


class PartIn(msgspec.Struct, kw_only=True):
    """A content part: ``text`` or ``image_url``."""

    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageUrlIn | None = None


class CalledFunctionIn(msgspec.Struct, kw_only=True):
    name: str
    arguments: str = "{}"


class ToolCallIn(msgspec.Struct, kw_only=True):
    id: str
    type: str = "function"
    function: CalledFunctionIn


class MessageIn(msgspec.Struct, kw_only=True):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[PartIn] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None


class FunctionDefIn(msgspec.Struct, kw_only=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(msgspec.Struct, kw_only=True):
    type: Literal["function"] = "function"
    function: FunctionDefIn


class NameIn(msgspec.Struct, kw_only=True):
    name: str


class NamedChoiceIn(msgspec.Struct, kw_only=True):
    type: str = "function"
    function: NameIn


class JsonSchemaIn(msgspec.Struct, kw_only=True):
    name: str = "output"
    schema: dict[str, Any] = {}
    strict: bool | None = None
    description: str | None = None


class ResponseFormatIn(msgspec.Struct, kw_only=True):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaIn | None = None


class StreamOptionsIn(msgspec.Struct, kw_only=True):
    include_usage: bool | None = None


class ChatRequestIn(msgspec.Struct, kw_only=True):
    """The fields this surface reads; every other field of the body is kept for pass-through."""

    model: NonEmpty
    messages: Annotated[list[MessageIn], Meta(min_length=1)]
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: Positive | None = None
    max_completion_tokens: Positive | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    n: Annotated[int, Meta(ge=1, le=1)] | None = None
    stream: bool | None = None
    stream_options: StreamOptionsIn | None = None
    store: bool | None = None
    modalities: list[Literal["text"]] | None = None


# -- answer -----------------------------------------------------------------------------------------------


class FunctionOut(msgspec.Struct):
    name: str
    arguments: str


class ToolCallOut(msgspec.Struct):
    id: str
    function: FunctionOut
    type: str = "function"


class MessageOut(msgspec.Struct, kw_only=True):
    role: str = "assistant"
    content: str | None
    refusal: None = None
    tool_calls: list[ToolCallOut] | None = None


class ChoiceOut(msgspec.Struct, kw_only=True):
    index: int = 0
    message: MessageOut
    finish_reason: str
    logprobs: None = None


class PromptDetailsOut(msgspec.Struct):
    cached_tokens: int = 0


class CompletionDetailsOut(msgspec.Struct):
    reasoning_tokens: int = 0


class UsageOut(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptDetailsOut
    completion_tokens_details: CompletionDetailsOut


class CompletionOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
    system_fingerprint: None = None


class DeltaFunctionOut(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    arguments: str | None = None


class DeltaToolCallOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    id: str | None = None
    type: str | None = None
    function: DeltaFunctionOut | None = None


class DeltaOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    role: str | None = None
    content: str | None = None
    tool_calls: list[DeltaToolCallOut] | None = None


class ChunkChoiceOut(msgspec.Struct, kw_only=True):
    index: int = 0
    delta: DeltaOut
    finish_reason: str | None = None
    logprobs: None = None


class ChunkOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoiceOut]
    usage: UsageOut | None = None


class ErrorOut(msgspec.Struct, kw_only=True):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBodyOut(msgspec.Struct):
    error: ErrorOut


class UsageSniff(msgspec.Struct):
    """Enough of a pass-through chunk to tell the usage-only chunk (``choices: []``) apart."""

    choices: list[Any] | None = None
    usage: Any = None
