"""``OpenAIModeration``: the ``ModerationCheck`` port over ``POST /moderations``, on the instance's pool.

One call per check, no retry (a guardrail that cannot get an answer is the rule engine's to decide);
failures are classified like every model call and never carry the upstream's text or the key.
"""

from __future__ import annotations

import msgspec

from adapters.providers.http.failures import failure
from adapters.providers.http.upstream import Upstream


class _Result(msgspec.Struct, kw_only=True):
    flagged: bool = False
    category_scores: dict[str, float | None] = {}


class _Answer(msgspec.Struct, kw_only=True):
    results: list[_Result] = []


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Answer).decode


class OpenAIModeration:
    """Asks the instance's moderation model whether a text is flagged, with per-category scores."""

    def __init__(self, http: Upstream, base_url: str, model: str) -> None:
        self._provider = http.name
        self._http = http
        self._url = base_url.rstrip("/") + "/moderations"
        self._model = model

    async def moderate(self, text: str) -> tuple[bool, dict[str, float]]:
        """``(flagged, category -> score)`` under the API's category names (``hate/threatening``)."""
        body = _encode({"model": self._model, "input": text})
        payload = await self._http.post(self._url, body)
        try:
            answer = _decode(payload)
        except msgspec.DecodeError:
            raise failure(
                self._provider, "malformed", phrase="upstream answered with a body that is not JSON"
            ) from None
        if not answer.results:
            return False, {}
        result = answer.results[0]
        scores = {name: float(score) for name, score in result.category_scores.items() if score is not None}
        return result.flagged, scores
