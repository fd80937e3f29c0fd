"""``POST /v1/embeddings``: one deterministic 8-dimensional vector per input (a faulting model name,
``fault-<fault>``, answers as the generation endpoints do: ``429``, ``500``, ``401``...).

Vector of a text: coordinate ``i`` is ``(byte i of sha256(text)) / 255``; usage: whitespace words.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from aiohttp import web

from ops.mock_upstream import wire
from ops.mock_upstream.recording import Recorder

DIMENSIONS = 8
_encode = msgspec.json.encode
_FAULTS = {
    "429": (429, "rate_limit_error"),
    "500": (500, "server_error"),
    "401": (401, "invalid_request_error"),
}


def vector(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % len(digest)] / 255, 6) for i in range(dimensions)]


class Embeddings:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def embeddings(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = msgspec.json.decode(await request.read())
        record = self.recorder.add(
            request.method, request.path, dict(request.headers), body, transport=request.transport
        )
        model = str(body.get("model", ""))
        fault = _FAULTS.get(model.removeprefix("fault-")) if model.startswith("fault-") else None
        if fault is not None:
            status, kind = fault
            record.status, record.fault = status, model.removeprefix("fault-")
            response = web.Response(
                status=status,
                body=_encode(wire.error_body("mock failure", kind)),
                content_type="application/json",
            )
            if status == 429:
                response.headers["Retry-After"] = "1"
            return response
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        dimensions = int(body.get("dimensions") or DIMENSIONS)
        tokens = sum(len(t.split()) for t in texts)
        payload = {
            "object": "list",
            "model": model or "mock-embed",
            "data": [
                {"object": "embedding", "index": i, "embedding": vector(t, dimensions)}
                for i, t in enumerate(texts)
            ],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        record.status, record.completed = 200, True
        return web.Response(body=_encode(payload), content_type="application/json")
