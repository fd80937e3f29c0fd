"""Responses <-> the neutral model call, and input items <-> stored conversation items.

Input: a string (one user message) or items: messages (``user`` text and images; ``assistant`` output
text; ``system``/``developer`` as system prompts), ``function_call`` (a call the model made earlier),
``function_call_output`` (the client's result for it). ``reasoning`` items are dropped (their state lives
with the provider that made them). ``instructions`` is the system prompt (not carried over by
``previous_response_id``, as with OpenAI). Function tools, ``tool_choice``, ``text.format``
(``json_schema``, ``json_object``), ``temperature``, ``top_p``, ``max_output_tokens``, ``user``,
``metadata``; every other field goes to ``extras["openai.responses"]``. Built-in tools (web search, file
search...) are refused with 400 naming ``tools``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import msgspec

from backend.http.surfaces.openai_responses.wire import (
    ContentIn,
    InputImageIn,
    ItemIn,
    ResponsesRequestIn,
    ToolChoiceIn,
)
from backend.services.model_history import to_messages
from contracts.conversations import (
    AssistantMessage,
    ConversationItem,
    ToolCallItem,
    ToolResultItem,
    UserMessage,
)
from contracts.errors import InvalidRequest
from contracts.models import (
    PROTOCOL_OPENAI_RESPONSES,
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

READ: Final = frozenset(ResponsesRequestIn.__struct_fields__)
_NO_PARAMETERS: Final[dict[str, Any]] = {"type": "object", "properties": {}}
_decode_arguments = msgspec.json.Decoder(dict[str, Any]).decode


def to_model_request(
    body: ResponsesRequestIn,
    raw: dict[str, Any],
    history: Sequence[ConversationItem],
    *,
    new_id: Callable[[], str],
    now: datetime,
) -> tuple[ModelRequest, list[ConversationItem]]:
    """The neutral request (history, then the new input) and the input as items to store."""
    messages: list[ModelMessage] = []
    if body.instructions:
        messages.append(SystemPrompt(text=body.instructions))
    messages += to_messages(history)
    names = {i.call_id: i.name for i in history if isinstance(i, ToolCallItem)}
    new_messages, items = _input(body.input, names, new_id=new_id, now=now)
    extras = {k: v for k, v in raw.items() if k not in READ}
    request = ModelRequest(
        messages=tuple(messages + new_messages),
        model=body.model,
        tools=tuple(_tools(body)),
        tool_choice=_tool_choice(body.tool_choice),
        response_format=_format(body),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_output_tokens,
        parallel_tool_calls=body.parallel_tool_calls,
        user=body.user,
        metadata=body.metadata or {},
        extras={PROTOCOL_OPENAI_RESPONSES: extras} if extras else {},
    )
    return request, items


def _input(
    given: str | list[ItemIn], names: dict[str, str], *, new_id: Callable[[], str], now: datetime
) -> tuple[list[ModelMessage], list[ConversationItem]]:
    if isinstance(given, str):
        return [UserPrompt.of(given)], [UserMessage(id=new_id(), created_at=now, text=given)]
    messages: list[ModelMessage] = []
    items: list[ConversationItem] = []
    for index, item in enumerate(given):
        kind = item.type or "message"
        where = f"input[{index}]"
        if kind == "message":
            message, stored = _message(item, where, new_id=new_id, now=now)
            messages.append(message)
            items += stored
        elif kind == "function_call":
            call_id = item.call_id or new_id()
            call = ToolCall(
                call_id=call_id, name=item.name or "", arguments=_arguments(item.arguments, where)
            )
            names[call.call_id] = call.name
            _append_call(messages, call)
            items.append(
                ToolCallItem(
                    id=new_id(),
                    created_at=now,
                    call_id=call.call_id,
                    name=call.name,
                    arguments=call.arguments,
                )
            )
        elif kind == "function_call_output":
            if not item.call_id:
                raise InvalidRequest("a function_call_output item needs call_id", field=where)
            output = _text(item.output, where)
            name = names.get(item.call_id, "")
            messages.append(ToolReturn(call_id=item.call_id, name=name, output=output))
            items.append(
                ToolResultItem(id=new_id(), created_at=now, call_id=item.call_id, name=name, output=output)
            )
        elif kind == "reasoning":
            continue
        else:
            raise InvalidRequest("an input item needs a type or a role", field=f"{where}.type")
    return messages, items


def _append_call(messages: list[ModelMessage], call: ToolCall) -> None:
    """Consecutive function calls are one assistant turn."""
    last = messages[-1] if messages else None
    if isinstance(last, AssistantReply) and last.tool_calls and not last.text:
        messages[-1] = AssistantReply(tool_calls=(*last.tool_calls, call))
    else:
        messages.append(AssistantReply(tool_calls=(call,)))


def _message(
    item: ItemIn, where: str, *, new_id: Callable[[], str], now: datetime
) -> tuple[ModelMessage, list[ConversationItem]]:
    role = item.role or "user"
    if role in ("system", "developer"):
        return SystemPrompt(text=_text(item.content, where)), []
    if role == "assistant":
        text = _text(item.content, where)
        return AssistantReply(text=text), [AssistantMessage(id=new_id(), created_at=now, text=text)]
    if role != "user":
        raise InvalidRequest(f"unknown role {role!r}", field=f"{where}.role")
    parts = _parts(item.content, where)
    prompt = UserPrompt(content=parts)
    return prompt, [UserMessage(id=new_id(), created_at=now, text=prompt.text)]


def _text(content: str | list[ContentIn] | None, _where: str) -> str:
    """The text of content (image parts have no place in a non-user message: left out)."""
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(p.text for p in content if not isinstance(p, InputImageIn))


def _parts(content: str | list[ContentIn] | None, where: str) -> tuple[ContentPart, ...]:
    if content is None or isinstance(content, str):
        return (TextPart(text=content or ""),)
    parts: list[ContentPart] = []
    for part in content:
        if isinstance(part, InputImageIn):
            parts.append(ImagePart(url=part.image_url, detail=part.detail))
        else:
            parts.append(TextPart(text=part.text))
    return tuple(parts)


def _arguments(text: str | None, where: str) -> dict[str, Any]:
    try:
        return _decode_arguments(text or "{}")
    except msgspec.DecodeError:
        raise InvalidRequest(
            "function_call arguments must be a JSON object", field=f"{where}.arguments"
        ) from None


def _tools(body: ResponsesRequestIn) -> list[ToolSpec]:
    specs = []
    for index, tool in enumerate(body.tools or ()):
        if tool.type != "function" or not tool.name:
            raise InvalidRequest(
                f"tool type {tool.type!r} is not supported here (function tools only)",
                field=f"tools[{index}]",
            )
        specs.append(
            ToolSpec(
                name=tool.name,
                description=tool.description or "",
                parameters=tool.parameters or _NO_PARAMETERS,
            )
        )
    return specs


def _tool_choice(choice: str | ToolChoiceIn | None) -> ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, ToolChoiceIn):
        return ToolChoice(mode="tool", name=choice.name)
    return ToolChoice(mode=choice)  # type: ignore[arg-type]


def _format(body: ResponsesRequestIn) -> ResponseFormat | None:
    wanted = body.text.format if body.text is not None else None
    if wanted is None or wanted.type == "text":
        return None
    if wanted.type == "json_object":
        return ResponseFormat(type="json_object")
    if wanted.type == "json_schema" and wanted.schema is not None:
        return ResponseFormat(
            type="json_schema", name=wanted.name, schema=wanted.schema, strict=wanted.strict
        )
    raise InvalidRequest(
        "text.format must be text, json_object or json_schema with a schema", field="text.format"
    )
