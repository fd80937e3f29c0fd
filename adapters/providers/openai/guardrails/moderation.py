"""``OpenAIModeration``: the ``ModerationCheck`` port over ``POST /v1/moderations``."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.providers.openai.client import ClientHolder
from adapters.providers.openai.errors import classify, to_provider_error
from adapters.providers.openai.retry import RetryPolicy
from adapters.providers.openai.settings import OpenAISettings


def scores_of(result: Any) -> dict[str, float]:
    """Category -> score of one moderation result, under the API's category names (``hate/threatening``)."""
    raw = result.category_scores
    values = raw.model_dump(by_alias=True) if hasattr(raw, "model_dump") else dict(raw)
    return {name: float(score) for name, score in values.items() if isinstance(score, int | float)}


class OpenAIModeration:
    """Asks the instance's moderation model whether a text is flagged, with per-category scores."""

    def __init__(self, provider: str, settings: OpenAISettings, clients: ClientHolder) -> None:
        self._provider = provider
        self._settings = settings
        self._clients = clients
        self._policy = RetryPolicy(settings.max_retries, settings.retry_base_delay_s)

    async def moderate(self, text: str) -> tuple[bool, dict[str, float]]:
        """``(flagged, category -> score)``; raises ``ProviderUnavailable`` when the upstream fails."""
        attempt = 0
        while True:
            try:
                response = await self._clients.get().moderations.create(
                    model=self._settings.moderation_model, input=text
                )
                break
            except Exception as exc:
                failure = classify(exc)
                delay = self._policy.delay(
                    attempt, retryable=failure.retryable, retry_after_s=failure.retry_after_s
                )
                if delay is None:
                    raise to_provider_error(self._provider, exc, secret=self._settings.api_key) from None
            attempt += 1
            await asyncio.sleep(delay)
        if not response.results:
            return False, {}
        result = response.results[0]
        return bool(result.flagged), scores_of(result)
