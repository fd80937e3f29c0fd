"""JSON shapes of Anthropic's Messages API, built from a ``logic.Reply``.

Shapes follow the ``anthropic`` package's types (``Message``, ``RawMessageStreamEvent``). Usage splits the
rules' input count the way Anthropic reports it: ``cache_read_input_tokens`` = the rules'
``cached_tokens`` (input // 4), ``cache_creation_input_tokens`` = input // 8, ``input_tokens`` = the rest
(so the three add up to the rules' input count). A request with ``thinking`` enabled gets a ``thinking``
block (``mock reasoning``, signature ``sig-<id>``) before its answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ops.mock_upstream.logic import Reply, Usage, pieces


def usage(of: Usage) -> dict[str, int]:
    """``Usage`` JSON of a whole message (the input count split into its cache parts)."""
    read = of.cached_tokens
    written = of.input_tokens // 8
    return {
        "input_tokens": of.input_tokens - read - written,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": written,
        "output_tokens": of.output_tokens,
    }


def thinking_block(rid: str) -> dict[str, Any]:
    """The ``thinking`` block answered when a request enables ``thinking``."""
    return {"type": "thinking", "thinking": "mock reasoning", "signature": f"sig-{rid}"}


def answer_block(reply: Reply, rid: str) -> dict[str, Any]:
    """The answer's block: ``text``, or ``tool_use`` (id ``toolu_<rid>``) with the reply's arguments."""
    if reply.is_tool_call:
        return {
            "type": "tool_use",
            "id": f"toolu_{rid}",
            "name": reply.tool_name,
            "input": json.loads(reply.text),
        }
    return {"type": "text", "text": reply.text}


def stop_reason(reply: Reply) -> str:
    return "tool_use" if reply.is_tool_call else "end_turn"


def message(reply: Reply, model: str, rid: str, *, thinking: bool = False) -> dict[str, Any]:
    """A whole ``message`` object."""
    content = [thinking_block(rid)] if thinking else []
    content.append(answer_block(reply, rid))
    return {
        "id": f"msg_{rid}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(reply),
        "stop_sequence": None,
        "usage": usage(reply.usage),
    }


def message_events(
    reply: Reply, model: str, rid: str, *, thinking: bool = False
) -> Iterator[tuple[bool, dict[str, Any]]]:
    """``(is_content_piece, event)`` pairs of a streamed message, ``message_start`` to ``message_stop``
    (a ``ping`` after the start, as Anthropic sends)."""
    start = message(reply, model, rid)
    start.update(content=[], stop_reason=None, usage={**usage(reply.usage), "output_tokens": 1})
    yield False, {"type": "message_start", "message": start}
    yield False, {"type": "ping"}
    index = 0
    if thinking:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        yield False, {"type": "content_block_start", "index": 0, "content_block": block}
        delta = {"type": "thinking_delta", "thinking": "mock reasoning"}
        yield False, {"type": "content_block_delta", "index": 0, "delta": delta}
        signature = {"type": "signature_delta", "signature": f"sig-{rid}"}
        yield False, {"type": "content_block_delta", "index": 0, "delta": signature}
        yield False, {"type": "content_block_stop", "index": 0}
        index = 1
    if reply.is_tool_call:
        head = {**answer_block(reply, rid), "input": {}}
        yield False, {"type": "content_block_start", "index": index, "content_block": head}
        for piece in pieces(reply.text):
            delta = {"type": "input_json_delta", "partial_json": piece}
            yield True, {"type": "content_block_delta", "index": index, "delta": delta}
    else:
        yield (
            False,
            {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        )
        for piece in pieces(reply.text):
            delta = {"type": "text_delta", "text": piece}
            yield True, {"type": "content_block_delta", "index": index, "delta": delta}
    yield False, {"type": "content_block_stop", "index": index}
    final = {"stop_reason": stop_reason(reply), "stop_sequence": None}
    yield False, {"type": "message_delta", "delta": final, "usage": usage(reply.usage)}
    yield False, {"type": "message_stop"}


def error_body(kind: str, message: str) -> dict[str, Any]:
    """Anthropic's error JSON."""
    return {"type": "error", "error": {"type": kind, "message": message}}
