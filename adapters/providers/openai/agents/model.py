"""``RetryingModel``: wraps an SDK model so each upstream call follows our ``RetryPolicy``.

A streamed call is retried only while it has yielded nothing and, for a streamed turn, while nothing has
reached the caller of ``AgentRuntime.stream`` (``RunGuard.output_committed``): a retry must never repeat
output someone already saw. The guard travels in a context variable because the SDK gives models no run
context; ``Runner.run_streamed`` copies it into its background task when it starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from agents import Model

from adapters.providers.openai.errors import classify
from adapters.providers.openai.retry import RetryPolicy


@dataclass(slots=True)
class RunGuard:
    """Per-turn state shared with the models: has output reached the caller yet?"""

    output_committed: bool = False


RUN_GUARD: ContextVar[RunGuard | None] = ContextVar("switchboard_openai_run_guard", default=None)


class RetryingModel(Model):
    """An SDK ``Model`` that retries its inner model's calls per ``RetryPolicy``."""

    def __init__(self, inner: Model, policy: RetryPolicy, name: str) -> None:
        self.inner = inner
        self.policy = policy
        self.model = name

    def _delay(self, exc: BaseException, attempt: int) -> float | None:
        failure = classify(exc)
        return self.policy.delay(attempt, retryable=failure.retryable, retry_after_s=failure.retry_after_s)

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        """The inner model's response, retried on retryable failures."""
        attempt = 0
        while True:
            try:
                return await self.inner.get_response(*args, **kwargs)
            except Exception as exc:
                delay = self._delay(exc, attempt)
                if delay is None:
                    raise
            attempt += 1
            await asyncio.sleep(delay)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """The inner model's stream, retried only while nothing has been yielded anywhere."""
        attempt = 0
        while True:
            yielded = False
            stream = self.inner.stream_response(*args, **kwargs)
            try:
                async for event in stream:
                    yielded = True
                    yield event
                return
            except Exception as exc:
                guard = RUN_GUARD.get()
                if yielded or (guard is not None and guard.output_committed):
                    raise
                delay = self._delay(exc, attempt)
                if delay is None:
                    raise
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()
            attempt += 1
            await asyncio.sleep(delay)

    async def close(self) -> None:
        """Close the inner model."""
        await self.inner.close()

    async def _cleanup_on_run_end(self, owner: object) -> None:
        await self.inner._cleanup_on_run_end(owner)
