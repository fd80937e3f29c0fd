"""``OpenAIModeration``: the ``ModerationCheck`` port over ``POST /moderations``, on the instance's pool.

One call per check, no retry (a guardrail that cannot get an answer is the rule engine's to decide);
failures are classified like every model call and never carry the upstream's text or the key.
"""

from __future__ import annotations

import msgspec

from adapters.providers.http.failures import TRANSPORT_ERRORS, from_exception, from_status
from adapters.providers.http.session import PooledSession


class _Result(msgspec.Struct, kw_only=True):
    flagged: bool = False
    category_scores: dict[str, float | None] = {}


class _Answer(msgspec.Struct, kw_only=True):
    results: list[_Result] = []


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Answer).decode


class OpenAIModeration:
    """Asks the instance's moderation model whether a text is flagged, with per-category scores."""

    def __init__(self, provider: str, http: PooledSession, base_url: str, model: str) -> None:
        self._provider = provider
        self._http = http
        self._url = base_url.rstrip("/") + "/moderations"
        self._model = model

    async def moderate(self, text: str) -> tuple[bool, dict[str, float]]:
        """``(flagged, category -> score)`` under the API's category names (``hate/threatening``)."""
        body = _encode({"model": self._model, "input": text})
        try:
            response = await self._http.get().post(self._url, data=body, allow_redirects=False)
            try:
                payload = await response.read()
            finally:
                response.release()
        except TRANSPORT_ERRORS as exc:
            raise from_exception(self._provider, exc) from exc
        if response.status >= 300:
            raise from_status(self._provider, response.status, response.headers, payload)
        try:
            answer = _decode(payload)
        except msgspec.DecodeError:
            raise from_status(self._provider, 502, response.headers, b"") from None
        if not answer.results:
            return False, {}
        result = answer.results[0]
        scores = {name: float(score) for name, score in result.category_scores.items() if score is not None}
        return result.flagged, scores
