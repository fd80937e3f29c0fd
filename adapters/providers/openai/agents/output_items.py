"""A neutral ``ModelResponse`` as what the SDK expects back from a model: Responses output items, the
SDK's ``Usage``, a whole ``Response`` (for ``response.completed``) and the SDK's ``ModelResponse``.

Objects are built with pydantic's own ``model_construct`` (``build``): no validation, every field set
here from typed values. (The ``openai`` types override ``model_construct`` with a version that walks
every field's type, ~10x slower.) Reasoning items are the exception: their nested parts come from stored
provider state, so they are validated.
Output order is that of a Responses model: reasoning items, the message, then function calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import msgspec
import pydantic
from agents import ModelResponse as SdkModelResponse
from agents import Usage as SdkUsage
from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from adapters.providers.openai.agents.input_items import OPAQUE_KEY, RESPONSES_PROTOCOL
from contracts.models import ModelResponse, OpaquePart
from contracts.tools import ToolCall
from contracts.usage import Usage

_encode = msgspec.json.encode
_construct: Callable[..., Any] = vars(pydantic.BaseModel)["model_construct"].__func__
M = TypeVar("M", bound=pydantic.BaseModel)


def build(cls: type[M], **fields: Any) -> M:
    """An instance of the pydantic model ``cls`` holding ``fields`` as given (no validation)."""
    return cast(M, _construct(cls, **fields))


def message_item(item_id: str, text: str, *, status: str = "completed") -> ResponseOutputMessage:
    """An assistant message with one output text part (no part at all while ``in_progress``)."""
    content = [text_part(text)] if status == "completed" else []
    return build(
        ResponseOutputMessage, id=item_id, type="message", role="assistant", status=status, content=content
    )


def text_part(text: str) -> ResponseOutputText:
    return build(ResponseOutputText, type="output_text", text=text, annotations=[])


def call_item_id(call_id: str) -> str:
    """The output item id of the function call ``call_id``."""
    return f"fc_{call_id}"


def function_call_item(call: ToolCall, *, arguments: str | None = None, status: str = "completed") -> Any:
    """A function call item (``arguments``: the JSON text, default: ``call.arguments`` encoded)."""
    return build(
        ResponseFunctionToolCall,
        type="function_call",
        id=call_item_id(call.call_id),
        call_id=call.call_id,
        name=call.name,
        arguments=_encode(call.arguments).decode() if arguments is None else arguments,
        status=status,
    )


def reasoning_item(part: OpaquePart, item_id: str) -> ResponseReasoningItem:
    """An opaque part as a reasoning item: the item itself for ``openai.responses`` state, else a
    carrier (``OPAQUE_KEY``) with ``item_id``, which ``input_items`` turns back into the same part.
    The id must be unique in the turn: the SDK drops input items whose type and id repeat."""
    if part.protocol == RESPONSES_PROTOCOL:
        return ResponseReasoningItem.model_validate(part.data)
    carrier = {"protocol": part.protocol, "data": part.data}
    return ResponseReasoningItem.model_validate(
        {"type": "reasoning", "id": item_id, "summary": [], OPAQUE_KEY: carrier}
    )


def output_items(response: ModelResponse, message_id: str) -> list[Any]:
    """The response's output items. A message is included when there is text, or when there is
    nothing else (an empty answer is still an answer)."""
    items: list[Any] = [reasoning_item(p, f"rs_{message_id}_{i}") for i, p in enumerate(response.opaque)]
    if response.text or not response.tool_calls:
        items.append(message_item(message_id, response.text))
    items.extend(function_call_item(call) for call in response.tool_calls)
    return items


def response_usage(usage: Usage) -> ResponseUsage:
    """Neutral usage in the Responses API's shape."""
    return build(
        ResponseUsage,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens or usage.input_tokens + usage.output_tokens,
        input_tokens_details=build(
            InputTokensDetails, cached_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens
        ),
        output_tokens_details=build(OutputTokensDetails, reasoning_tokens=usage.reasoning_tokens),
    )


def sdk_usage(usage: Usage) -> SdkUsage:
    """Neutral usage of one model call as the SDK's ``Usage`` (one request)."""
    shaped = response_usage(usage)
    return SdkUsage(
        requests=1,
        input_tokens=shaped.input_tokens,
        output_tokens=shaped.output_tokens,
        total_tokens=shaped.total_tokens,
        input_tokens_details=shaped.input_tokens_details,
        output_tokens_details=shaped.output_tokens_details,
    )


def sdk_model_response(response: ModelResponse, message_id: str) -> SdkModelResponse:
    """What ``Model.get_response`` returns."""
    return SdkModelResponse(
        output=output_items(response, message_id),
        usage=sdk_usage(response.usage),
        response_id=response.response_id,
    )


def whole_response(response: ModelResponse, output: list[Any], *, status: str = "completed") -> Response:
    """A Responses ``Response`` for the stream's ``response.created`` (``in_progress``, no output) and
    ``response.completed`` events."""
    return build(
        Response,
        id=response.response_id,
        object="response",
        created_at=0.0,
        model=response.model,
        output=output,
        status=status,
        usage=response_usage(response.usage) if status == "completed" else None,
        tool_choice="auto",
        tools=[],
        parallel_tool_calls=True,
        top_p=None,
    )
