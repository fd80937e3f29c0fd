"""Anthropic Messages (``POST /v1/messages``): the request body and the whole answer.

``ModelRequest`` -> body:

- system prompts -> the top-level ``system`` (joined by a blank line, wherever they stand);
- user prompts -> ``text`` and ``image`` blocks (a ``data:`` URL becomes a ``base64`` source, any other
  URL a ``url`` source); tool returns -> ``tool_result`` blocks (``is_error`` kept) in the next user
  message (consecutive user-side messages are merged: the API wants every result of an assistant turn in
  the one message after it);
- assistant replies -> this protocol's opaque blocks first (``thinking``, ``redacted_thinking``, server
  tool blocks: replayed verbatim), then the text, then ``tool_use`` blocks;
- tool-call ids through ``contracts.call_ids`` (restricted to ``[A-Za-z0-9_-]`` both ways);
- tools (each tool tuple encoded once), ``tool_choice`` (``auto``/``any``/``tool``/``none``;
  ``parallel_tool_calls: false`` -> ``disable_parallel_tool_use``), ``max_tokens`` (the instance's
  default when unset), ``temperature``, ``top_p``, ``stop_sequences``, ``metadata.user_id`` from
  ``user``; ``extras["anthropic.messages"]`` merged last (they win: ``top_k``, ``thinking``...).
- Structured output (a JSON-schema or JSON-object response format) is a forced tool: a tool named after
  the format whose ``input_schema`` is the schema (a non-object schema is wrapped in ``{"value": ...}``),
  and ``tool_choice`` naming it (``any`` when the request offers other tools too, so the model may call
  them first). The tool's input is returned as the answer's JSON text, never as a tool call.

Answer -> ``ModelResponse``: text blocks joined, ``tool_use`` blocks as tool calls, every other block as
an ``OpaquePart(protocol="anthropic.messages")``; stop reasons mapped (``end_turn``/``stop_sequence``/
``pause_turn`` -> stop, ``max_tokens``/``model_context_window_exceeded`` -> length, ``tool_use`` ->
tool_calls, ``refusal`` -> content_filter); usage with the cache parts added to ``input_tokens``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from adapters.providers.http.body import encode_body
from adapters.providers.http.failures import failure, from_error_code
from adapters.providers.http.identity_cache import IdentityCache
from contracts.call_ids import original, restricted
from contracts.models import (
    PROTOCOL_ANTHROPIC_MESSAGES,
    AssistantReply,
    FinishReason,
    ImagePart,
    ModelRequest,
    ModelResponse,
    OpaquePart,
    ResponseFormat,
    SystemPrompt,
    TextPart,
    ToolChoice,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall, ToolSpec
from contracts.usage import Usage

PATH: Final = "/v1/messages"
COUNT_PATH: Final = "/v1/messages/count_tokens"
PROTOCOL: Final = PROTOCOL_ANTHROPIC_MESSAGES

# -- request ----------------------------------------------------------------------------------------------


class TextBlockW(msgspec.Struct, tag="text", tag_field="type", gc=False):
    text: str


class Base64SourceW(msgspec.Struct, tag="base64", tag_field="type", gc=False):
    media_type: str
    data: str


class UrlSourceW(msgspec.Struct, tag="url", tag_field="type", gc=False):
    url: str


class ImageBlockW(msgspec.Struct, tag="image", tag_field="type", gc=False):
    source: Base64SourceW | UrlSourceW


class ToolUseBlockW(msgspec.Struct, tag="tool_use", tag_field="type", gc=False):
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlockW(msgspec.Struct, tag="tool_result", tag_field="type", omit_defaults=True, gc=False):
    tool_use_id: str
    content: str
    is_error: bool = False


BlockW = TextBlockW | ImageBlockW | ToolUseBlockW | ToolResultBlockW | msgspec.Raw


class MessageW(msgspec.Struct, gc=False):
    role: str
    content: str | list[BlockW]


class ToolChoiceW(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    type: str
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MetadataW(msgspec.Struct, gc=False):
    user_id: str


class MessagesRequestW(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """The body. Every optional field defaults to None and is left out unless set."""

    model: str
    max_tokens: int
    messages: list[MessageW]
    system: str | None = None
    tools: msgspec.Raw | None = None
    tool_choice: ToolChoiceW | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None
    metadata: MetadataW | None = None
    stream: bool | None = None


class ToolDefW(msgspec.Struct, omit_defaults=True, gc=False):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None


def _encode_tools(tools: tuple[ToolSpec, ...]) -> msgspec.Raw:
    defs = [
        ToolDefW(name=t.name, input_schema=t.parameters or _ANY_OBJECT, description=t.description or None)
        for t in tools
    ]
    return msgspec.Raw(msgspec.json.encode(defs))


TOOLS: Final = IdentityCache[ToolSpec, msgspec.Raw](_encode_tools)
"""Encoded tool lists, one per identity of the specs (an agent's tools are encoded once)."""
_ANY_OBJECT: Final[dict[str, Any]] = {"type": "object"}
_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_DATA_URL = re.compile(r"^data:([^;,]+);base64,", re.IGNORECASE)
OUTPUT_TOOL_DESCRIPTION: Final = (
    "Give your final answer by calling this tool: its input is the answer, matching the schema exactly."
)


@dataclass(frozen=True, slots=True)
class OutputTool:
    """The forced tool of a structured-output request: its name and whether the schema was wrapped."""

    name: str
    wrapped: bool


def output_tool(request: ModelRequest) -> tuple[OutputTool, ToolDefW] | None:
    """The forced tool carrying a JSON response format, or None for a text answer."""
    wanted = request.response_format
    if wanted is None or wanted.type == "text":
        return None
    name = _TOOL_NAME.sub("_", wanted.name).strip("_")[:64] or "output"
    taken = {t.name for t in request.tools}
    while name in taken:
        name = f"{name}_"[:64] if len(name) < 64 else name[:-1] + "x"
    schema, wrapped = _schema_of(wanted)
    return OutputTool(name, wrapped), ToolDefW(
        name=name, input_schema=schema, description=OUTPUT_TOOL_DESCRIPTION
    )


def _schema_of(wanted: ResponseFormat) -> tuple[dict[str, Any], bool]:
    schema = wanted.schema if wanted.type == "json_schema" and wanted.schema is not None else None
    if schema is None:
        return _ANY_OBJECT, False
    if schema.get("type") == "object":
        return schema, False
    return {"type": "object", "properties": {"value": schema}, "required": ["value"]}, True


def _image(part: ImagePart) -> ImageBlockW:
    found = _DATA_URL.match(part.url)
    if found:
        return ImageBlockW(Base64SourceW(media_type=found.group(1), data=part.url[found.end() :]))
    return ImageBlockW(UrlSourceW(url=part.url))


def _user_blocks(prompt: UserPrompt) -> list[BlockW]:
    return [
        TextBlockW(p.text) if isinstance(p, TextPart) else _image(p)
        for p in prompt.content
        if not (isinstance(p, TextPart) and not p.text)
    ]


def _assistant_blocks(reply: AssistantReply) -> list[BlockW]:
    blocks: list[BlockW] = [
        msgspec.Raw(msgspec.json.encode(p.data)) for p in reply.opaque if p.protocol == PROTOCOL
    ]
    if reply.text:
        blocks.append(TextBlockW(reply.text))
    blocks.extend(
        ToolUseBlockW(id=restricted(c.call_id), name=c.name, input=c.arguments) for c in reply.tool_calls
    )
    return blocks


def messages_of(request: ModelRequest) -> tuple[str | None, list[MessageW]]:
    """``(system, messages)``: system prompts lifted out, user-side messages merged, empty ones dropped."""
    system: list[str] = []
    out: list[MessageW] = []
    for message in request.messages:
        if isinstance(message, SystemPrompt):
            if message.text:
                system.append(message.text)
            continue
        role = "assistant" if isinstance(message, AssistantReply) else "user"
        if isinstance(message, UserPrompt):
            blocks = _user_blocks(message)
        elif isinstance(message, ToolReturn):
            blocks = [
                ToolResultBlockW(
                    tool_use_id=restricted(message.call_id), content=message.output, is_error=message.is_error
                )
            ]
        else:
            blocks = _assistant_blocks(message)
        if not blocks:
            continue
        if out and out[-1].role == role:
            previous = out[-1].content
            assert isinstance(previous, list)
            previous.extend(blocks)
        else:
            out.append(MessageW(role=role, content=blocks))
    for message in out:  # one text block alone travels as a plain string (smaller, same meaning)
        content = message.content
        if isinstance(content, list) and len(content) == 1 and type(content[0]) is TextBlockW:
            message.content = content[0].text
    return ("\n\n".join(system) or None), out


def _tool_choice(request: ModelRequest, forced: OutputTool | None) -> ToolChoiceW | None:
    choice = request.tool_choice or ToolChoice()
    no_parallel = True if request.parallel_tool_calls is False else None
    if forced is not None and (not request.tools or choice.mode == "none"):
        return ToolChoiceW(type="tool", name=forced.name, disable_parallel_tool_use=no_parallel)
    if not request.tools:
        return None
    if choice.mode == "tool" and choice.name:
        return ToolChoiceW(type="tool", name=choice.name, disable_parallel_tool_use=no_parallel)
    if forced is not None or choice.mode == "required" or choice.mode == "tool":
        return ToolChoiceW(type="any", disable_parallel_tool_use=no_parallel)
    if choice.mode == "none":
        return ToolChoiceW(type="none")
    if request.tool_choice is None and no_parallel is None:
        return None
    return ToolChoiceW(type="auto", disable_parallel_tool_use=no_parallel)


def _tools(request: ModelRequest, forced: tuple[OutputTool, ToolDefW] | None) -> msgspec.Raw | None:
    tools = TOOLS.get(request.tools) if request.tools else None
    if forced is None:
        return tools
    extra = msgspec.json.encode(forced[1])
    if tools is None:
        return msgspec.Raw(b"[" + extra + b"]")
    listed = bytes(tools)
    return msgspec.Raw(listed[:-1] + b"," + extra + b"]")


def encode_request(
    request: ModelRequest, model: str, *, stream: bool, max_tokens: int
) -> tuple[bytes, OutputTool | None]:
    """The JSON body of one call and its forced output tool (None for a text answer)."""
    forced = output_tool(request)
    tool = forced[0] if forced else None
    system, messages = messages_of(request)
    body = MessagesRequestW(
        model=model,
        max_tokens=request.max_tokens or max_tokens,
        messages=messages,
        system=system,
        tools=_tools(request, forced),
        tool_choice=_tool_choice(request, tool),
        temperature=request.temperature,
        top_p=request.top_p,
        stop_sequences=list(request.stop) if request.stop else None,
        metadata=MetadataW(user_id=request.user) if request.user else None,
        stream=True if stream else None,
    )
    return encode_body(body, request.extras.get(PROTOCOL, {})), tool


# -- answer -----------------------------------------------------------------------------------------------


class UsageW(msgspec.Struct, gc=False):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class ErrorW(msgspec.Struct, gc=False):
    """An error object (``{"type": "overloaded_error", "message": ...}``); its message is never read."""

    type: str | None = None


class AnswerBlockW(msgspec.Struct, gc=False):
    """What the codec reads of a content block (other blocks are kept whole, as opaque parts)."""

    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class AnswerW(msgspec.Struct, gc=False):
    id: str | None = None
    type: str | None = None
    model: str | None = None
    content: list[msgspec.Raw] = []
    stop_reason: str | None = None
    usage: UsageW | None = None
    error: ErrorW | None = None


_decode_answer = msgspec.json.Decoder(AnswerW).decode
_decode_block = msgspec.json.Decoder(AnswerBlockW).decode
decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.encode

FINISH: Final[dict[str, FinishReason]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(reason: str | None, *, has_calls: bool) -> FinishReason:
    """The neutral finish reason (``tool_use`` that only answered through the output tool is a stop)."""
    mapped = FINISH.get(reason or "", "stop")
    if mapped == "tool_calls" and not has_calls:
        return "stop"
    return "tool_calls" if has_calls and mapped == "stop" else mapped


def usage_of(usage: UsageW | None) -> Usage:
    """Neutral usage: Anthropic reports cache reads and writes apart from ``input_tokens``; the neutral
    ``input_tokens`` includes them (``cached_tokens``/``cache_write_tokens`` say how much)."""
    if usage is None:
        return Usage()
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    prompt = (usage.input_tokens or 0) + read + written
    completion = usage.output_tokens or 0
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=prompt + completion,
        cached_tokens=read,
        cache_write_tokens=written,
    )


def output_text(provider: str, tool: OutputTool, arguments: Any) -> str:
    """The JSON text of a structured answer given as the output tool's input."""
    if tool.wrapped:
        if not isinstance(arguments, dict) or "value" not in arguments:
            raise failure(provider, "malformed", phrase="upstream answered the output tool without a value")
        arguments = arguments["value"]
    return _encode(arguments).decode()


def raise_error(provider: str, error: ErrorW) -> None:
    """Raise the classified failure an error object reports (by its type: ``overloaded_error``...)."""
    raise from_error_code(provider, error.type)


def decode_answer(provider: str, body: bytes, tool: OutputTool | None = None) -> ModelResponse:
    """A whole (non-streamed) answer; ``tool``: the request's forced output tool, if any."""
    answer = _decode_answer(body)
    if answer.error is not None or answer.type == "error":
        raise_error(provider, answer.error or ErrorW())
    if answer.type is not None and answer.type != "message":
        raise failure(provider, "malformed", phrase="upstream answered something other than a message")
    texts: list[str] = []
    structured: list[str] = []
    calls: list[ToolCall] = []
    opaque: list[OpaquePart] = []
    for raw in answer.content:
        block = _decode_block(raw)
        if block.type == "text":
            texts.append(block.text or "")
        elif block.type == "tool_use":
            arguments = block.input if isinstance(block.input, dict) else {}
            if tool is not None and block.name == tool.name:
                structured.append(output_text(provider, tool, block.input))
                continue
            if not block.id or not block.name:
                raise failure(provider, "malformed", phrase="upstream sent a tool call without an id or name")
            calls.append(ToolCall(call_id=original(block.id), name=block.name, arguments=arguments))
        else:
            opaque.append(OpaquePart(protocol=PROTOCOL, data=decode_object(raw)))
    return ModelResponse(
        text="".join(structured or texts),  # a structured answer is the output tool's input alone
        tool_calls=tuple(calls),
        finish_reason=finish_reason(answer.stop_reason, has_calls=bool(calls)),
        usage=usage_of(answer.usage),
        provider=provider,
        model=answer.model or "",
        response_id=answer.id or None,
        opaque=tuple(opaque),
    )
