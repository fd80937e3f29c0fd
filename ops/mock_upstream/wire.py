"""JSON shapes of the OpenAI chat-completions and responses APIs, built from a ``logic.Reply``.

Shapes follow the ``openai`` package's types (``ChatCompletion``, ``ChatCompletionChunk``, ``Response``,
``ResponseStreamEvent``); ids are derived from a per-request counter so answers are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ops.mock_upstream.logic import Reply, Usage, pieces

CREATED = 1_700_000_000


def chat_usage(usage: Usage) -> dict[str, Any]:
    """``CompletionUsage`` JSON."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def chat_completion(reply: Reply, model: str, rid: str) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": None if reply.is_tool_call else reply.text}
    if reply.is_tool_call:
        message["tool_calls"] = [
            {
                "id": f"call_{rid}",
                "type": "function",
                "function": {"name": reply.tool_name, "arguments": reply.text},
            }
        ]
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.is_tool_call else "stop",
                "logprobs": None,
            }
        ],
        "usage": chat_usage(reply.usage),
    }


def _chunk(rid: str, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def chat_chunks(reply: Reply, model: str, rid: str, *, include_usage: bool) -> Iterator[tuple[bool, Any]]:
    """``(is_content_piece, chunk)`` pairs of a streamed chat completion (``[DONE]`` not included)."""
    if reply.is_tool_call:
        head = {"index": 0, "id": f"call_{rid}", "type": "function"}
        head["function"] = {"name": reply.tool_name, "arguments": ""}
        yield False, _chunk(rid, model, {"role": "assistant", "tool_calls": [head]}, None)
        for piece in pieces(reply.text):
            call = {"index": 0, "function": {"arguments": piece}}
            yield True, _chunk(rid, model, {"tool_calls": [call]}, None)
        yield False, _chunk(rid, model, {}, "tool_calls")
    else:
        yield False, _chunk(rid, model, {"role": "assistant", "content": ""}, None)
        for piece in pieces(reply.text):
            yield True, _chunk(rid, model, {"content": piece}, None)
        yield False, _chunk(rid, model, {}, "stop")
    if include_usage:
        last = _chunk(rid, model, {}, None)
        last["choices"] = []
        last["usage"] = chat_usage(reply.usage)
        yield False, last


def responses_usage(usage: Usage) -> dict[str, Any]:
    """``ResponseUsage`` JSON."""
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def output_item(reply: Reply, rid: str, *, done: bool = True) -> dict[str, Any]:
    """The one output item of a response (``message`` or ``function_call``)."""
    status = "completed" if done else "in_progress"
    if reply.is_tool_call:
        return {
            "type": "function_call",
            "id": f"fc_{rid}",
            "call_id": f"call_{rid}",
            "name": reply.tool_name,
            "arguments": reply.text if done else "",
            "status": status,
        }
    content = [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}] if done else []
    return {"type": "message", "id": f"msg_{rid}", "role": "assistant", "status": status, "content": content}


def reasoning_item(rid: str) -> dict[str, Any]:
    """The ``reasoning`` output item answered when a responses request asks for ``reasoning``."""
    return {
        "type": "reasoning",
        "id": f"rs_{rid}",
        "summary": [{"type": "summary_text", "text": "mock reasoning"}],
        "encrypted_content": f"enc-{rid}",
    }


def response(
    reply: Reply, model: str, rid: str, *, done: bool = True, reasoning: bool = False
) -> dict[str, Any]:
    """A whole ``response`` object (``done=False``: the in-progress shell of ``response.created``);
    with ``reasoning``, a ``reasoning`` item comes before the answer's item."""
    output = [reasoning_item(rid)] if reasoning else []
    output.append(output_item(reply, rid))
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": CREATED,
        "model": model,
        "status": "completed" if done else "in_progress",
        "output": output if done else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": responses_usage(reply.usage) if done else None,
    }


def response_events(
    reply: Reply, model: str, rid: str, *, reasoning: bool = False
) -> Iterator[tuple[bool, dict[str, Any]]]:
    """``(is_content_piece, event)`` pairs of a streamed response, ending with ``response.completed``."""
    item_id = f"fc_{rid}" if reply.is_tool_call else f"msg_{rid}"
    shell = response(reply, model, rid, done=False)
    yield False, {"type": "response.created", "response": shell}
    yield False, {"type": "response.in_progress", "response": shell}
    index = 0
    if reasoning:
        item = reasoning_item(rid)
        yield (
            False,
            {"type": "response.output_item.added", "output_index": 0, "item": {**item, "summary": []}},
        )
        yield False, {"type": "response.output_item.done", "output_index": 0, "item": item}
        index = 1
    added = output_item(reply, rid, done=False)
    yield False, {"type": "response.output_item.added", "output_index": index, "item": added}
    where = {"item_id": item_id, "output_index": index}
    if reply.is_tool_call:
        for piece in pieces(reply.text):
            yield True, {"type": "response.function_call_arguments.delta", **where, "delta": piece}
        done_args = {"arguments": reply.text, "name": reply.tool_name}
        yield False, {"type": "response.function_call_arguments.done", **where, **done_args}
    else:
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield False, {"type": "response.content_part.added", **where, "content_index": 0, "part": part}
        for piece in pieces(reply.text):
            delta = {"content_index": 0, "delta": piece, "logprobs": []}
            yield True, {"type": "response.output_text.delta", **where, **delta}
        text_done = {"content_index": 0, "text": reply.text, "logprobs": []}
        yield False, {"type": "response.output_text.done", **where, **text_done}
        part = {**part, "text": reply.text}
        yield False, {"type": "response.content_part.done", **where, "content_index": 0, "part": part}
    item = output_item(reply, rid)
    yield False, {"type": "response.output_item.done", "output_index": index, "item": item}
    final = response(reply, model, rid, reasoning=reasoning)
    yield False, {"type": "response.completed", "response": final}


def failed_response(model: str, rid: str, code: str) -> dict[str, Any]:
    """A ``response`` object whose status is ``failed`` with error ``code``."""
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": CREATED,
        "model": model,
        "status": "failed",
        "output": [],
        "error": {"code": code, "message": f"The mock failed this response ({code})."},
        "usage": None,
    }


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error JSON."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
