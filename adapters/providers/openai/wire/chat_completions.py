"""OpenAI Chat Completions (``POST /chat/completions``): the request body and the whole answer.

``ModelRequest`` -> body: system/user/assistant/tool messages (user text and ``image_url`` parts;
assistant tool calls with their ids; tool returns by ``tool_call_id``), function tools (each tool tuple
encoded once, ``TOOLS``), ``tool_choice`` and ``parallel_tool_calls`` (sent only with tools),
``response_format`` (``json_object``, ``json_schema``), sampling fields, ``max_tokens``, ``stop``,
``seed``, penalties, ``user``, ``metadata``; ``extras["openai.chat"]`` merged last (they win). Streaming adds
``stream_options.include_usage``. Opaque parts of any protocol are dropped (this format has none).
The stream's chunks are decoded in ``chat_stream``.
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
    PROTOCOL_OPENAI_CHAT,
    FinishReason,
    ImagePart,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPrompt,
    TextPart,
    ToolChoice,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall, ToolSpec
from contracts.usage import Usage

PATH: Final = "/chat/completions"

# -- request ----------------------------------------------------------------------------------------------


class TextPartW(msgspec.Struct, tag="text", tag_field="type", gc=False):
    text: str


class ImageUrlW(msgspec.Struct, omit_defaults=True, gc=False):
    url: str
    detail: str | None = None


class ImagePartW(msgspec.Struct, tag="image_url", tag_field="type", gc=False):
    image_url: ImageUrlW


class FunctionW(msgspec.Struct, gc=False):
    name: str
    arguments: str


class ToolCallW(msgspec.Struct, tag="function", tag_field="type", gc=False):
    id: str
    function: FunctionW


class MessageW(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """One message; ``content`` is always sent (``null`` for an assistant turn of tool calls only)."""

    role: str
    content: str | list[TextPartW | ImagePartW] | None
    tool_calls: list[ToolCallW] | None = None
    tool_call_id: str | None = None


class FunctionDefW(msgspec.Struct, omit_defaults=True, gc=False):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolDefW(msgspec.Struct, tag="function", tag_field="type", gc=False):
    function: FunctionDefW


class NameW(msgspec.Struct, gc=False):
    name: str


class NamedChoiceW(msgspec.Struct, tag="function", tag_field="type", gc=False):
    function: NameW


class JsonSchemaW(msgspec.Struct, omit_defaults=True, gc=False):
    name: str
    schema: dict[str, Any]
    strict: bool | None = None


class JsonSchemaFormatW(msgspec.Struct, tag="json_schema", tag_field="type", gc=False):
    json_schema: JsonSchemaW


class JsonObjectFormatW(msgspec.Struct, tag="json_object", tag_field="type", gc=False):
    pass


class StreamOptionsW(msgspec.Struct, gc=False):
    include_usage: bool = True


class ChatRequestW(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """The body. Every optional field defaults to None and is left out unless set."""

    model: str
    messages: list[MessageW]
    tools: msgspec.Raw | None = None
    tool_choice: str | NamedChoiceW | None = None
    parallel_tool_calls: bool | None = None
    response_format: JsonSchemaFormatW | JsonObjectFormatW | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    stream: bool | None = None
    stream_options: StreamOptionsW | dict[str, Any] | None = None


def _encode_tools(tools: tuple[ToolSpec, ...]) -> msgspec.Raw:
    defs = [
        ToolDefW(
            function=FunctionDefW(name=t.name, description=t.description or None, parameters=t.parameters)
        )
        for t in tools
    ]
    return msgspec.Raw(msgspec.json.encode(defs))


TOOLS: Final = IdentityCache[ToolSpec, msgspec.Raw](_encode_tools)
"""Encoded tool lists, one per identity of the specs (an agent's tools are encoded once)."""


def _user_content(prompt: UserPrompt) -> str | list[TextPartW | ImagePartW]:
    parts = prompt.content
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    return [
        TextPartW(text=p.text)
        if isinstance(p, TextPart)
        else ImagePartW(image_url=ImageUrlW(p.url, p.detail))
        for p in parts
        if isinstance(p, TextPart | ImagePart)
    ]


def _message(message: ModelMessage) -> MessageW:
    if isinstance(message, UserPrompt):
        return MessageW(role="user", content=_user_content(message))
    if isinstance(message, SystemPrompt):
        return MessageW(role="system", content=message.text)
    if isinstance(message, ToolReturn):
        return MessageW(role="tool", content=message.output, tool_call_id=message.call_id)
    calls = [
        ToolCallW(id=c.call_id, function=FunctionW(name=c.name, arguments=encode_arguments(c.arguments)))
        for c in message.tool_calls
    ]
    text = message.text or (None if calls else "")
    return MessageW(role="assistant", content=text, tool_calls=calls or None)


def _tool_choice(choice: ToolChoice | None) -> str | NamedChoiceW | None:
    if choice is None:
        return None
    if choice.mode == "tool":
        return NamedChoiceW(function=NameW(choice.name)) if choice.name else "required"
    return choice.mode


def _response_format(request: ModelRequest) -> JsonSchemaFormatW | JsonObjectFormatW | None:
    wanted = request.response_format
    if wanted is None or wanted.type == "text":
        return None
    if wanted.type == "json_schema" and wanted.schema is not None:
        return JsonSchemaFormatW(JsonSchemaW(name=wanted.name, schema=wanted.schema, strict=wanted.strict))
    return JsonObjectFormatW()


def encode_request(request: ModelRequest, model: str, *, stream: bool, provider: str) -> bytes:
    """The JSON body of one call (every request can be encoded: ``provider`` is not needed here)."""
    tools = request.tools
    stream_options: StreamOptionsW | dict[str, Any] | None = None
    if stream:
        given = request.extras.get(PROTOCOL_OPENAI_CHAT, {}).get("stream_options")
        stream_options = {**given, "include_usage": True} if isinstance(given, dict) else StreamOptionsW()
    body = ChatRequestW(
        model=model,
        messages=[_message(m) for m in request.messages],
        tools=TOOLS.get(tools) if tools else None,
        tool_choice=_tool_choice(request.tool_choice) if tools else None,
        parallel_tool_calls=request.parallel_tool_calls if tools else None,
        response_format=_response_format(request),
        temperature=request.temperature,
        top_p=request.top_p,
        max_tokens=request.max_tokens,
        stop=list(request.stop) if request.stop else None,
        seed=request.seed,
        presence_penalty=request.presence_penalty,
        frequency_penalty=request.frequency_penalty,
        user=request.user,
        metadata=request.metadata or None,
        stream=True if stream else None,
        stream_options=stream_options,
    )
    extras = request.extras.get(PROTOCOL_OPENAI_CHAT, {})
    if "stream_options" in extras:  # merged above when streaming; not allowed on a whole answer
        extras = {k: v for k, v in extras.items() if k != "stream_options"}
    return encode_body(body, extras)


# -- answer -----------------------------------------------------------------------------------------------


class PromptDetailsW(msgspec.Struct, gc=False):
    cached_tokens: int | None = None


class CompletionDetailsW(msgspec.Struct, gc=False):
    reasoning_tokens: int | None = None


class UsageW(msgspec.Struct, gc=False):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: PromptDetailsW | None = None
    completion_tokens_details: CompletionDetailsW | None = None


class ErrorW(msgspec.Struct, gc=False):
    """An error object in a 200 body or a stream chunk; its ``message`` is never read."""

    code: str | int | None = None
    type: str | None = None


class CalledFunctionW(msgspec.Struct, gc=False):
    name: str = ""
    arguments: str = ""


class CalledToolW(msgspec.Struct, gc=False):
    id: str | None = None
    function: CalledFunctionW | None = None


class AnswerMessageW(msgspec.Struct, gc=False):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[CalledToolW] | None = None


class ChoiceW(msgspec.Struct, gc=False):
    message: AnswerMessageW | None = None
    finish_reason: str | None = None


class CompletionW(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    choices: list[ChoiceW] = []
    usage: UsageW | None = None
    error: ErrorW | None = None


_decode_completion = msgspec.json.Decoder(CompletionW).decode
FINISH: Final[dict[str, FinishReason]] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def finish_reason(reason: str | None, *, has_calls: bool) -> FinishReason:
    """The neutral finish reason (a natural stop that called tools is ``tool_calls``)."""
    mapped = FINISH.get(reason or "", "stop")
    return "tool_calls" if has_calls and mapped == "stop" else mapped


def usage_of(usage: UsageW | None) -> Usage:
    if usage is None:
        return Usage()
    prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    details = usage.completion_tokens_details
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=usage.total_tokens or prompt + completion,
        cached_tokens=cached or 0,
        reasoning_tokens=(details.reasoning_tokens or 0) if details else 0,
    )


def raise_error(provider: str, error: ErrorW) -> None:
    """Raise the classified failure an error object reports."""
    raise from_error_code(provider, error.code if error.code is not None else error.type)


def decode_answer(provider: str, body: bytes) -> ModelResponse:
    """A whole (non-streamed) answer."""
    answer = _decode_completion(body)
    if answer.error is not None:
        raise_error(provider, answer.error)
    if not answer.choices or answer.choices[0].message is None:
        raise failure(provider, "malformed", phrase="upstream answered without a choice")
    choice = answer.choices[0]
    message = choice.message
    assert message is not None
    calls = tuple(
        ToolCall(
            call_id=c.id or new_call_id(),
            name=c.function.name,
            arguments=decode_arguments(provider, c.function.arguments),
        )
        for c in message.tool_calls or ()
        if c.function is not None
    )
    return ModelResponse(
        text=message.content or message.refusal or "",
        tool_calls=calls,
        finish_reason=finish_reason(choice.finish_reason, has_calls=bool(calls)),
        usage=usage_of(answer.usage),
        provider=provider,
        model=answer.model or "",
        response_id=answer.id or None,
    )
