"""Chat Completions <-> the neutral model call.

Request: ``system``/``developer`` -> system prompts, ``user`` -> text and image parts, ``assistant`` ->
text and tool calls (ids kept), ``tool`` -> tool returns (the tool's name found from its call), function
tools, ``tool_choice``, ``response_format``, sampling fields, ``max_completion_tokens`` (or the older
``max_tokens``), ``stop``, ``seed``, penalties, ``user``, ``metadata``. Every other body field goes to
``extras["openai.chat"]`` (an OpenAI-kind upstream gets it; other protocols ignore it). Refused, each as a
400 naming the parameter: ``n`` > 1, audio output, the deprecated ``functions``/``function_call``, content
parts other than text and images (the schema's own constraints). Lenient where the vendor's API is: a tool
message without ``tool_call_id`` or tool-call arguments that are not a JSON object go on as they are (the
upstream decides), and image parts of non-user messages are left out.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from backend.http.surfaces.openai_chat.wire import (
    ChatRequestIn,
    MessageIn,
    NamedChoiceIn,
    ResponseFormatIn,
)
from contracts.errors import InvalidRequest
from contracts.models import (
    PROTOCOL_OPENAI_CHAT,
    AssistantReply,
    ContentPart,
    ImagePart,
    ModelMessage,
    ModelRequest,
    ResponseFormat,
    SystemPrompt,
    TextPart,
    ToolChoice,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall, ToolSpec

READ: Final = frozenset(ChatRequestIn.__struct_fields__) - {
    "functions",
    "function_call",
    "audio",
    "modalities",
}
"""Body fields this mapping reads; the rest are vendor extras."""
_SURFACE_ONLY: Final = frozenset({"stream", "stream_options", "store", "n", "model"})
_NO_PARAMETERS: Final[dict[str, Any]] = {"type": "object", "properties": {}}
_decode_arguments = msgspec.json.Decoder(dict[str, Any]).decode


def to_model_request(body: ChatRequestIn, raw: dict[str, Any]) -> ModelRequest:
    """The neutral request for ``body`` (``raw`` is the same body as a dict: its unknown fields)."""
    _refuse_unsupported(raw)
    messages = _messages(body.messages)
    extras = {k: v for k, v in raw.items() if k not in READ and k not in _SURFACE_ONLY}
    return ModelRequest(
        messages=tuple(messages),
        model=body.model,
        tools=tuple(_tools(body)),
        tool_choice=_tool_choice(body.tool_choice),
        response_format=_response_format(body.response_format),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        stop=(body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ()),
        seed=body.seed,
        presence_penalty=body.presence_penalty,
        frequency_penalty=body.frequency_penalty,
        parallel_tool_calls=body.parallel_tool_calls,
        user=body.user,
        metadata=body.metadata or {},
        extras={PROTOCOL_OPENAI_CHAT: extras} if extras else {},
    )


def _refuse_unsupported(raw: dict[str, Any]) -> None:
    """Fields outside the documented schema that this endpoint refuses rather than ignores."""
    if raw.get("functions") is not None or raw.get("function_call") is not None:
        raise InvalidRequest(
            "functions/function_call are deprecated: send tools and tool_choice", field="functions"
        )
    if raw.get("audio") is not None:
        raise InvalidRequest("audio output is not supported on this endpoint", field="audio")


def _messages(given: list[MessageIn]) -> list[ModelMessage]:
    names: dict[str, str] = {}
    messages: list[ModelMessage] = []
    for index, message in enumerate(given):
        role = message.role
        if role in ("system", "developer"):
            messages.append(SystemPrompt(text=_text_only(message, index)))
        elif role == "user":
            messages.append(UserPrompt(content=_parts(message, index)))
        elif role == "assistant":
            calls = tuple(
                ToolCall(
                    call_id=c.id, name=c.function.name, arguments=_arguments(c.function.arguments, index)
                )
                for c in message.tool_calls or ()
            )
            names.update((c.call_id, c.name) for c in calls)
            messages.append(AssistantReply(text=_text_only(message, index), tool_calls=calls))
        elif role == "tool":
            call_id = message.tool_call_id or ""
            messages.append(
                ToolReturn(call_id=call_id, name=names.get(call_id, ""), output=_text_only(message, index))
            )
        else:
            raise InvalidRequest(f"unknown role {role!r}", field=f"messages[{index}].role")
    return messages


def _text_only(message: MessageIn, _index: int) -> str:
    """The text of a non-user message (image parts there have no neutral place: they are left out)."""
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(part.text for part in content if part.type == "text" and part.text is not None)


def _parts(message: MessageIn, index: int) -> tuple[ContentPart, ...]:
    content = message.content
    if content is None or isinstance(content, str):
        return (TextPart(text=content or ""),)
    parts: list[ContentPart] = []
    for at, part in enumerate(content):
        if part.type == "text" and part.text is not None:
            parts.append(TextPart(text=part.text))
        elif part.type == "image_url" and part.image_url is not None:
            detail = part.image_url.detail if part.image_url.detail in ("auto", "low", "high") else None
            parts.append(ImagePart(url=part.image_url.url, detail=detail))  # type: ignore[arg-type]
        else:
            raise InvalidRequest(
                f"a {part.type} part needs its {part.type} field", field=f"messages[{index}].content[{at}]"
            )
    return tuple(parts)


def _arguments(text: str, _index: int) -> dict[str, Any]:
    """The call's arguments; text that is not a JSON object is kept as ``{"_raw": text}`` (a model may
    have produced it; the upstream that receives it again decides)."""
    try:
        return _decode_arguments(text or "{}")
    except msgspec.DecodeError:
        return {"_raw": text}


def _tools(body: ChatRequestIn) -> list[ToolSpec]:
    specs = []
    for index, tool in enumerate(body.tools or ()):
        if tool.type != "function" or tool.function is None:
            raise InvalidRequest(
                f"tool type {tool.type!r} is not supported (function)", field=f"tools[{index}]"
            )
        f = tool.function
        specs.append(
            ToolSpec(name=f.name, description=f.description or "", parameters=f.parameters or _NO_PARAMETERS)
        )
    return specs


def _tool_choice(choice: str | NamedChoiceIn | None) -> ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, NamedChoiceIn):
        return ToolChoice(mode="tool", name=choice.function.name)
    if choice not in ("auto", "none", "required"):
        raise InvalidRequest(
            "tool_choice must be auto, none, required or a named function", field="tool_choice"
        )
    return ToolChoice(mode=choice)  # type: ignore[arg-type]


def _response_format(given: ResponseFormatIn | None) -> ResponseFormat | None:
    if given is None or given.type == "text":
        return None
    if given.type == "json_object":
        return ResponseFormat(type="json_object")
    if given.type == "json_schema" and given.json_schema is not None and given.json_schema.schema is not None:
        schema = given.json_schema
        return ResponseFormat(
            type="json_schema", name=schema.name, schema=schema.schema, strict=schema.strict
        )
    raise InvalidRequest(
        "response_format must be text, json_object or json_schema with a schema", field="response_format"
    )
