"""Anthropic Messages -> the neutral model call.

Request: ``system`` (a string or text blocks) -> a system prompt; ``user`` blocks: ``text``, ``image``
(``base64`` source -> a ``data:`` URL, ``url`` source -> its URL), ``tool_result`` (-> a tool return; its
text blocks joined, ``is_error`` kept); ``assistant`` blocks: ``text``, ``tool_use`` (-> tool calls) and
every other block (``thinking``, ``redacted_thinking``, server tool blocks) kept verbatim as an opaque part
of ``anthropic.messages`` (only an Anthropic deployment reads it back). Tool-use ids go through
``contracts.call_ids`` (an id this surface handed out for another provider's call maps back to it). Custom
tools, ``tool_choice`` (``auto``/``any``/``tool``/``none``, ``disable_parallel_tool_use``), ``max_tokens``,
``temperature``, ``top_p``, ``stop_sequences``, ``metadata.user_id`` (-> ``user``), ``output_format``
(a JSON schema -> the response format). Every other body field (``top_k``, ``thinking``,
``service_tier``...) goes to ``extras["anthropic.messages"]``: an Anthropic deployment gets it, others
ignore it.

What the neutral request cannot carry (document/search-result blocks, images inside tool results, server
tools such as web search) is not refused here: ``to_model_request`` returns the refusal, and the surface
raises it only when the call cannot go to an Anthropic deployment as it is (pass-through).
"""

from __future__ import annotations

import math
from typing import Any, Final

import msgspec

from backend.http.surfaces.anthropic_messages.wire import (
    BlockIn,
    CountTokensIn,
    MessageIn,
    MessagesRequestIn,
    ResultBlockIn,
    SystemBlockIn,
    ToolChoiceIn,
    ToolIn,
)
from contracts.call_ids import original
from contracts.errors import InvalidRequest
from contracts.models import (
    PROTOCOL_ANTHROPIC_MESSAGES,
    AssistantReply,
    ContentPart,
    ImagePart,
    ModelMessage,
    ModelRequest,
    OpaquePart,
    ResponseFormat,
    SystemPrompt,
    TextPart,
    ToolChoice,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall, ToolSpec

READ: Final = frozenset(MessagesRequestIn.__struct_fields__)
"""Body fields this mapping reads; the rest are vendor extras."""
_SURFACE_ONLY: Final = frozenset({"stream", "model"})
_NO_PARAMETERS: Final[dict[str, Any]] = {"type": "object", "properties": {}}
_CUSTOM_TOOL_TYPES: Final = frozenset({None, "custom"})
_encode = msgspec.json.encode


class Mapped(msgspec.Struct, frozen=True, kw_only=True):
    """The neutral request, and what it could not carry (None: nothing lost)."""

    request: ModelRequest
    refusal: InvalidRequest | None = None


class _Lost(Exception):
    def __init__(self, refusal: InvalidRequest) -> None:
        self.refusal = refusal


def to_model_request(body: MessagesRequestIn, raw: dict[str, Any]) -> Mapped:
    """The neutral request for ``body`` (``raw`` is the same body as a dict)."""
    if not body.messages:
        raise InvalidRequest("messages: at least one message is required", field="messages")
    if body.max_tokens is not None and body.max_tokens < 1:
        raise InvalidRequest("max_tokens: must be at least 1", field="max_tokens")
    lost: list[InvalidRequest] = []
    messages = _system(body.system) + _messages(body.messages, raw.get("messages") or [], lost)
    extras = {k: v for k, v in raw.items() if k not in READ and k not in _SURFACE_ONLY}
    request = ModelRequest(
        messages=tuple(messages),
        model=body.model,
        tools=tuple(_tools(body.tools, lost)),
        tool_choice=_tool_choice(body.tool_choice),
        response_format=_response_format(body),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_tokens,
        stop=tuple(body.stop_sequences or ()),
        parallel_tool_calls=False
        if body.tool_choice and body.tool_choice.disable_parallel_tool_use
        else None,
        user=body.metadata.user_id if body.metadata and body.metadata.user_id else None,
        extras={PROTOCOL_ANTHROPIC_MESSAGES: extras} if extras else {},
    )
    return Mapped(request=request, refusal=lost[0] if lost else None)


def _system(system: str | list[SystemBlockIn] | None) -> list[ModelMessage]:
    if not system:
        return []
    text = system if isinstance(system, str) else "\n\n".join(b.text for b in system if b.text)
    return [SystemPrompt(text=text)] if text else []


def _messages(given: list[MessageIn], raw: list[Any], lost: list[InvalidRequest]) -> list[ModelMessage]:
    names: dict[str, str] = {}
    messages: list[ModelMessage] = []
    for index, message in enumerate(given):
        blocks = (
            [BlockIn(type="text", text=message.content)]
            if isinstance(message.content, str)
            else message.content
        )
        raw_blocks = _raw_blocks(raw, index)
        if message.role == "user":
            messages.extend(_user(blocks, index, names, lost))
        elif message.role == "assistant":
            reply = _assistant(blocks, raw_blocks, index)
            names.update((c.call_id, c.name) for c in reply.tool_calls)
            messages.append(reply)
        else:
            raise InvalidRequest(
                f"messages.{index}.role: must be user or assistant", field=f"messages.{index}.role"
            )
    return messages


def _raw_blocks(raw: list[Any], index: int) -> list[Any]:
    message = raw[index] if index < len(raw) and isinstance(raw[index], dict) else {}
    content = message.get("content")
    return content if isinstance(content, list) else []


def _user(
    blocks: list[BlockIn], index: int, names: dict[str, str], lost: list[InvalidRequest]
) -> list[ModelMessage]:
    out: list[ModelMessage] = []
    parts: list[ContentPart] = []
    for at, block in enumerate(blocks):
        where = f"messages.{index}.content.{at}"
        if block.type == "text":
            parts.append(TextPart(text=block.text or ""))
        elif block.type == "image":
            image = _image(block, where, lost)
            if image is not None:
                parts.append(image)
        elif block.type == "tool_result":
            call_id = original(block.tool_use_id or "")
            out.append(
                ToolReturn(
                    call_id=call_id,
                    name=names.get(call_id, ""),
                    output=_result_text(block.content, where, lost),
                    is_error=bool(block.is_error),
                )
            )
        else:
            lost.append(_unsupported(f"content block type {block.type!r}", f"{where}.type"))
    if parts:
        out.append(UserPrompt(content=tuple(parts)))
    return out


def _image(block: BlockIn, where: str, lost: list[InvalidRequest]) -> ImagePart | None:
    source = block.source
    if source is not None and source.type == "base64" and source.data and source.media_type:
        return ImagePart(url=f"data:{source.media_type};base64,{source.data}")
    if source is not None and source.type == "url" and source.url:
        return ImagePart(url=source.url)
    lost.append(_unsupported("image sources other than base64 and url", f"{where}.source"))
    return None


def _result_text(content: str | list[ResultBlockIn] | None, where: str, lost: list[InvalidRequest]) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for at, block in enumerate(content):
        if block.type == "text":
            texts.append(block.text or "")
        else:
            lost.append(_unsupported(f"tool_result content of type {block.type!r}", f"{where}.content.{at}"))
    return "".join(texts)


def _assistant(blocks: list[BlockIn], raw_blocks: list[Any], index: int) -> AssistantReply:
    texts: list[str] = []
    calls: list[ToolCall] = []
    opaque: list[OpaquePart] = []
    for at, block in enumerate(blocks):
        if block.type == "text":
            texts.append(block.text or "")
        elif block.type == "tool_use":
            arguments = block.input if isinstance(block.input, dict) else {"_raw": block.input}
            call_id = original(block.id) if block.id else f"toolu_{index}_{at}"
            calls.append(ToolCall(call_id=call_id, name=block.name or "", arguments=arguments))
        else:
            data = raw_blocks[at] if at < len(raw_blocks) and isinstance(raw_blocks[at], dict) else {}
            opaque.append(OpaquePart(protocol=PROTOCOL_ANTHROPIC_MESSAGES, data=data))
    return AssistantReply(text="".join(texts), tool_calls=tuple(calls), opaque=tuple(opaque))


def _tools(tools: list[ToolIn] | None, lost: list[InvalidRequest]) -> list[ToolSpec]:
    specs = []
    for index, tool in enumerate(tools or ()):
        if tool.type not in _CUSTOM_TOOL_TYPES:
            lost.append(_unsupported(f"tool type {tool.type!r}", f"tools.{index}.type"))
            continue
        specs.append(
            ToolSpec(
                name=tool.name,
                description=tool.description or "",
                parameters=tool.input_schema or _NO_PARAMETERS,
            )
        )
    return specs


def _tool_choice(choice: ToolChoiceIn | None) -> ToolChoice | None:
    if choice is None:
        return None
    if choice.type == "tool":
        return ToolChoice(mode="tool", name=choice.name) if choice.name else ToolChoice(mode="required")
    modes = {"auto": "auto", "any": "required", "none": "none"}
    return ToolChoice(mode=modes[choice.type])  # type: ignore[arg-type]


def _response_format(body: MessagesRequestIn) -> ResponseFormat | None:
    given = body.output_format
    if given is None:
        return None
    return ResponseFormat(type="json_schema", name="output", schema=given.schema)


def _unsupported(what: str, field: str) -> InvalidRequest:
    return InvalidRequest(
        f"{field}: {what} can only go to an Anthropic deployment as it is, and this model's route "
        "may send the request elsewhere",
        field=field,
    )


def estimate_tokens(body: CountTokensIn, raw: dict[str, Any]) -> int:
    """An estimate of the input tokens when no deployment of the route counts them: one token per four
    bytes of the system prompt, the messages' content and the tool definitions as compact JSON, rounded
    up, plus 3 per message. Not a tokenizer: a rough size (usually above the real count) for budgeting."""
    size = len(_encode(body.system or ""))
    for message in raw.get("messages") or []:
        size += len(_encode(message.get("content") if isinstance(message, dict) else message))
    if body.tools:
        size += len(_encode(raw.get("tools")))
    return math.ceil(size / 4) + 3 * len(body.messages)
