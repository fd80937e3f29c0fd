"""``POST /v1/moderations`` and ``GET /v1/models``.

Moderation rule (whole words, case-insensitive): ``kill``/``attack`` score ``violence`` 0.95,
``hate`` scores ``hate`` 0.91 and ``harassment`` 0.6, ``idiot`` scores ``harassment`` 0.8; every other
category scores 0.0. A category is flagged at >= 0.5; the result is flagged when any category is.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from aiohttp import web

from ops.mock_upstream.recording import Recorder

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
TRIGGERS: dict[str, dict[str, float]] = {
    "kill": {"violence": 0.95},
    "attack": {"violence": 0.95},
    "hate": {"hate": 0.91, "harassment": 0.6},
    "idiot": {"harassment": 0.8},
}
_WORD = re.compile(r"[a-z]+")
_encode = msgspec.json.encode


def scores(text: str) -> dict[str, float]:
    """Category -> score for ``text`` by the module's rule."""
    result = dict.fromkeys(CATEGORIES, 0.0)
    for word in _WORD.findall(text.lower()):
        for category, score in TRIGGERS.get(word, {}).items():
            result[category] = max(result[category], score)
    return result


def moderation_result(text: str) -> dict[str, Any]:
    """One ``Moderation`` result object."""
    category_scores = scores(text)
    categories = {name: score >= 0.5 for name, score in category_scores.items()}
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": category_scores,
        "category_applied_input_types": {name: ["text"] for name in CATEGORIES},
    }


class Moderations:
    """The moderation and model-list endpoints."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def moderations(self, request: web.Request) -> web.Response:
        """``POST /v1/moderations``: one result per input string."""
        body = msgspec.json.decode(await request.read())
        record = self.recorder.add(
            request.method, request.path, dict(request.headers), body, transport=request.transport
        )
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else [t for t in texts if isinstance(t, str)]
        payload = {
            "id": f"modr-{record.seq:06d}",
            "model": body.get("model", "omni-moderation-latest"),
            "results": [moderation_result(t) for t in texts],
        }
        record.status, record.completed = 200, True
        return web.Response(body=_encode(payload), content_type="application/json")

    async def models(self, request: web.Request) -> web.Response:
        """``GET /v1/models``: a fixed list."""
        record = self.recorder.add(
            request.method, request.path, dict(request.headers), None, transport=request.transport
        )
        names = ("mock-model", "gpt-4.1-mini", "omni-moderation-latest", "gpt-4o-realtime-preview")
        data = [{"id": n, "object": "model", "created": 1_700_000_000, "owned_by": "mock"} for n in names]
        record.status, record.completed = 200, True
        return web.Response(body=_encode({"object": "list", "data": data}), content_type="application/json")
