"""OpenAI Responses (``POST /responses``): the request body and the whole answer.

``ModelRequest`` -> body: leading system prompts become ``instructions`` (later ones ``system`` messages);
user messages with ``input_text``/``input_image`` parts; an assistant turn replays this format's opaque
parts (``reasoning`` items) verbatim, then its text, then its ``function_call`` items with their call ids;
tool returns become ``function_call_output`` by call id. Function tools (encoded once per tool tuple,
``strict: false`` as neutral schemas need not be strict-compatible), ``tool_choice`` and
``parallel_tool_calls`` (with tools only), ``text.format`` (``json_object``, ``json_schema``),
``temperature``, ``top_p``, ``max_output_tokens``, ``user``, ``metadata``; ``extras["openai.responses"]`` merged last.

Not in this API: stop sequences (a request with ``stop`` fails as ``unsupported`` before anything is sent:
another deployment can honour it), ``seed`` and the penalties (left out: they are hints no answer
depends on). Opaque parts of other protocols are dropped.

Answer -> ``ModelResponse``: ``output_text`` (and refusals) as text, ``function_call`` items as tool calls,
``reasoning`` items as ``OpaquePart(protocol="openai.responses", data=item)``; ``incomplete`` answers end
with ``length`` (or ``content_filter``); a ``failed`` one raises its classified error.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from adapters.providers.http.failures import failure, from_error_code
from adapters.providers.http.identity_cache import IdentityCache
from adapters.providers.openai.wire.encoding import (
    decode_arguments,
    encode_arguments,
    encode_body,
    new_call_id,
)
from contracts.models import (
    PROTOCOL_OPENAI_RESPONSES,
    AssistantReply,
    FinishReason,
    ModelRequest,
    ModelResponse,
    OpaquePart,
    SystemPrompt,
    TextPart,
    ToolChoice,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall, ToolSpec
from contracts.usage import Usage

PATH: Final = "/responses"
PROTOCOL: Final = "openai.responses"
"""``OpaquePart.protocol`` of the items this format replays."""

# -- request ----------------------------------------------------------------------------------------------


class InputTextW(msgspec.Struct, tag="input_text", tag_field="type", gc=False):
    text: str


class InputImageW(msgspec.Struct, tag="input_image", tag_field="type", gc=False):
    image_url: str
    detail: str = "auto"


class MessageItemW(msgspec.Struct, tag="message", tag_field="type", gc=False):
    role: str
    content: str | list[InputTextW | InputImageW]


class FunctionCallItemW(msgspec.Struct, tag="function_call", tag_field="type", gc=False):
    call_id: str
    name: str
    arguments: str


class FunctionCallOutputItemW(msgspec.Struct, tag="function_call_output", tag_field="type", gc=False):
    call_id: str
    output: str


class FunctionToolW(msgspec.Struct, tag="function", tag_field="type", gc=False):
    name: str
    description: str | None
    parameters: dict[str, Any] | None
    strict: bool


class NamedFunctionW(msgspec.Struct, tag="function", tag_field="type", gc=False):
    name: str


class JsonSchemaFormatW(msgspec.Struct, tag="json_schema", tag_field="type", omit_defaults=True, gc=False):
    name: str
    schema: dict[str, Any]
    strict: bool | None = None


class JsonObjectFormatW(msgspec.Struct, tag="json_object", tag_field="type", gc=False):
    pass


class TextConfigW(msgspec.Struct, gc=False):
    format: JsonSchemaFormatW | JsonObjectFormatW


class ResponsesRequestW(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """The body. Every optional field defaults to None and is left out unless set."""

    model: str
    input: list[Any]
    instructions: str | None = None
    tools: msgspec.Raw | None = None
    tool_choice: str | NamedFunctionW | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfigW | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    stream: bool | None = None


def _encode_tools(tools: tuple[ToolSpec, ...]) -> msgspec.Raw:
    defs = [FunctionToolW(t.name, t.description or None, t.parameters, False) for t in tools]
    return msgspec.Raw(msgspec.json.encode(defs))


TOOLS: Final = IdentityCache[ToolSpec, msgspec.Raw](_encode_tools)
"""Encoded tool lists, one per identity of the specs (an agent's tools are encoded once)."""


def _user_content(prompt: UserPrompt) -> str | list[InputTextW | InputImageW]:
    parts = prompt.content
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    return [
        InputTextW(p.text) if isinstance(p, TextPart) else InputImageW(p.url, p.detail or "auto")
        for p in parts
    ]


def _assistant(reply: AssistantReply, items: list[Any]) -> None:
    items.extend(part.data for part in reply.opaque if part.protocol == PROTOCOL)
    if reply.text:
        items.append(MessageItemW("assistant", reply.text))
    items.extend(
        FunctionCallItemW(c.call_id, c.name, encode_arguments(c.arguments)) for c in reply.tool_calls
    )


def _input(request: ModelRequest) -> tuple[str | None, list[Any]]:
    """``(instructions, input items)``."""
    instructions: list[str] = []
    items: list[Any] = []
    for message in request.messages:
        if isinstance(message, SystemPrompt):
            if items:
                items.append(MessageItemW("system", message.text))
            else:
                instructions.append(message.text)
        elif isinstance(message, UserPrompt):
            items.append(MessageItemW("user", _user_content(message)))
        elif isinstance(message, ToolReturn):
            items.append(FunctionCallOutputItemW(message.call_id, message.output))
        else:
            _assistant(message, items)
    return ("\n\n".join(instructions) if instructions else None), items


def _tool_choice(choice: ToolChoice | None) -> str | NamedFunctionW | None:
    if choice is None:
        return None
    if choice.mode == "tool":
        return NamedFunctionW(choice.name) if choice.name else "required"
    return choice.mode


def _text(request: ModelRequest) -> TextConfigW | None:
    wanted = request.response_format
    if wanted is None or wanted.type == "text":
        return None
    if wanted.type == "json_schema" and wanted.schema is not None:
        return TextConfigW(JsonSchemaFormatW(name=wanted.name, schema=wanted.schema, strict=wanted.strict))
    return TextConfigW(JsonObjectFormatW())


def encode_request(request: ModelRequest, model: str, *, stream: bool, provider: str) -> bytes:
    """The JSON body of one call (``unsupported`` for stop sequences, which this API lacks)."""
    if request.stop:
        raise failure(provider, "unsupported", phrase="the Responses API has no stop sequences")
    instructions, items = _input(request)
    tools = request.tools
    body = ResponsesRequestW(
        model=model,
        input=items,
        instructions=instructions,
        tools=TOOLS.get(tools) if tools else None,
        tool_choice=_tool_choice(request.tool_choice) if tools else None,
        parallel_tool_calls=request.parallel_tool_calls if tools else None,
        text=_text(request),
        temperature=request.temperature,
        top_p=request.top_p,
        max_output_tokens=request.max_tokens,
        user=request.user,
        metadata=request.metadata or None,
        stream=True if stream else None,
    )
    return encode_body(body, request.extras.get(PROTOCOL_OPENAI_RESPONSES, {}))


# -- answer -----------------------------------------------------------------------------------------------


class ContentW(msgspec.Struct, gc=False):
    type: str = ""
    text: str | None = None
    refusal: str | None = None


class ItemW(msgspec.Struct, gc=False):
    """Any output item, read only for the fields of ``message`` and ``function_call`` items."""

    type: str = ""
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    content: list[ContentW] | None = None


class InputDetailsW(msgspec.Struct, gc=False):
    cached_tokens: int | None = None


class OutputDetailsW(msgspec.Struct, gc=False):
    reasoning_tokens: int | None = None


class UsageW(msgspec.Struct, gc=False):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: InputDetailsW | None = None
    output_tokens_details: OutputDetailsW | None = None


class IncompleteW(msgspec.Struct, gc=False):
    reason: str | None = None


class ErrorW(msgspec.Struct, gc=False):
    """An error object; its ``message`` is never read."""

    code: str | int | None = None
    type: str | None = None


class ResponseW(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    status: str | None = None
    output: list[msgspec.Raw] = []
    usage: UsageW | None = None
    incomplete_details: IncompleteW | None = None
    error: ErrorW | None = None


class _TypeW(msgspec.Struct, gc=False):
    type: str = ""


decode_response_body = msgspec.json.Decoder(ResponseW).decode
_decode_item = msgspec.json.Decoder(ItemW).decode
_decode_type = msgspec.json.Decoder(_TypeW).decode
_decode_dict = msgspec.json.Decoder(dict[str, Any]).decode
_INCOMPLETE: Final[dict[str, FinishReason]] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
_READ_ITEMS = frozenset({"message", "function_call"})


def usage_of(usage: UsageW | None) -> Usage:
    if usage is None:
        return Usage()
    given_in, given_out = usage.input_tokens or 0, usage.output_tokens or 0
    cached = usage.input_tokens_details.cached_tokens if usage.input_tokens_details else None
    reasoning = usage.output_tokens_details.reasoning_tokens if usage.output_tokens_details else None
    return Usage(
        input_tokens=given_in,
        output_tokens=given_out,
        total_tokens=usage.total_tokens or given_in + given_out,
        cached_tokens=cached or 0,
        reasoning_tokens=reasoning or 0,
    )


def _item(raw: msgspec.Raw) -> ItemW | None:
    """An output item, or None for a kind this codec does not read (hosted tools...)."""
    try:
        return _decode_item(raw)
    except msgspec.ValidationError:
        if _decode_type(raw).type in _READ_ITEMS:
            raise
        return None


def build_response(provider: str, answer: ResponseW) -> ModelResponse:
    """The neutral answer of a response object (``failed`` raises; ``in_progress`` is malformed here)."""
    if answer.status == "failed" or (answer.error is not None and answer.status != "completed"):
        error = answer.error
        raise from_error_code(provider, (error.code or error.type) if error is not None else None)
    if answer.status not in (None, "completed", "incomplete"):
        raise failure(provider, "malformed", phrase="upstream answered before the response was complete")
    texts: list[str] = []
    calls: list[ToolCall] = []
    opaque: list[OpaquePart] = []
    for raw in answer.output:
        item = _item(raw)
        if item is None:
            continue
        if item.type == "message":
            texts.extend(c.text or c.refusal or "" for c in item.content or ())
        elif item.type == "function_call":
            arguments = decode_arguments(provider, item.arguments or "")
            calls.append(
                ToolCall(call_id=item.call_id or new_call_id(), name=item.name or "", arguments=arguments)
            )
        elif item.type == "reasoning":
            opaque.append(OpaquePart(protocol=PROTOCOL, data=_decode_dict(raw)))
    finish: FinishReason = "tool_calls" if calls else "stop"
    if answer.status == "incomplete":
        reason = answer.incomplete_details.reason if answer.incomplete_details else None
        finish = _INCOMPLETE.get(reason or "", "length")
    return ModelResponse(
        text="".join(texts),
        tool_calls=tuple(calls),
        finish_reason=finish,
        usage=usage_of(answer.usage),
        provider=provider,
        model=answer.model or "",
        response_id=answer.id or None,
        opaque=tuple(opaque),
    )


def decode_answer(provider: str, body: bytes) -> ModelResponse:
    """A whole (non-streamed) answer."""
    return build_response(provider, decode_response_body(body))
