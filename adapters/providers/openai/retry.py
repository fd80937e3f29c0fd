"""Our retry policy for upstream calls (the SDK's own retries are off: ``max_retries=0``).

Jittered exponential backoff for failures ``errors.classify`` calls retryable (429, 5xx, connect errors,
timeouts), bounded by ``max_retries`` retries after the first attempt. A ``Retry-After`` from the upstream
is honoured (capped at ``MAX_RETRY_AFTER_S``). Pure: the caller sleeps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MAX_RETRY_AFTER_S = 30.0
MAX_BACKOFF_S = 20.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries, and how long to wait before each."""

    max_retries: int = 2
    base_delay_s: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int, *, retryable: bool, retry_after_s: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` retries done so far), or
        None when the failure must not be retried (not retryable, or the budget is spent)."""
        if not retryable or attempt >= self.max_retries:
            return None
        backoff = min(MAX_BACKOFF_S, self.base_delay_s * (2.0**attempt))
        jittered = backoff * (0.5 + self.rng.random() / 2)
        if retry_after_s is not None:
            return min(retry_after_s, MAX_RETRY_AFTER_S)
        return jittered
