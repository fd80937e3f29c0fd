"""What a router does after a failed model call: retry the same deployment, fall back, or give up.

Pure functions of the failure class (``contracts.models.FailureKind``), the attempt count and the time
left; the router sleeps and counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

Strategy = Literal["priority", "weighted", "least_busy", "latency"]
STRATEGIES: tuple[str, ...] = ("priority", "weighted", "least_busy", "latency")

RETRY_SAME = frozenset(
    {"rate_limited", "overloaded", "server_error", "timeout", "refused", "dropped", "stalled", "malformed"}
)
"""Worth another try on the same deployment (within the retry budget)."""
FALL_BACK = RETRY_SAME | {"auth", "unsupported"}
"""Worth trying the next deployment."""
SPECIAL = frozenset({"context_too_long", "content_filtered"})
"""Sent on only to deployments that declare they handle it (``handles``)."""


class Next(Enum):
    RETRY = "retry"
    FALL_BACK = "fall_back"
    GIVE_UP = "give_up"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` after the first attempt on one deployment, jittered exponential backoff from
    ``base_delay_s`` (capped at ``max_delay_s``); an upstream ``Retry-After`` is honoured when it is at
    most ``max_retry_after_s``, otherwise the router falls back at once."""

    retries: int = 1
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    max_retry_after_s: float = 10.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, retry: int, retry_after_s: float | None) -> float | None:
        """Seconds to wait before retry number ``retry + 1``; None when the budget is spent or the
        upstream asks for a longer wait than we accept."""
        if retry >= self.retries:
            return None
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= self.max_retry_after_s else None
        backoff = min(self.max_delay_s, self.base_delay_s * (2.0**retry))
        return backoff * (0.5 + self.rng.random() / 2)


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """How one route behaves. ``timeout_s`` bounds the time spent retrying and falling back for one model
    call (no retry or fallback starts after it); ``fallback`` off means the first admitted deployment is
    the only one tried."""

    strategy: Strategy = "priority"
    retry: RetryPolicy = RetryPolicy()
    timeout_s: float = 120.0
    fallback: bool = True


def next_step(
    failure: str, retry: int, retry_after_s: float | None, policy: RoutePolicy, time_left_s: float
) -> tuple[Next, float]:
    """What to do after a failure, and how long to wait first."""
    if failure in SPECIAL:
        return (Next.FALL_BACK if policy.fallback else Next.GIVE_UP), 0.0
    if failure in RETRY_SAME:
        delay = policy.retry.delay(retry, retry_after_s)
        if delay is not None and delay < time_left_s:
            return Next.RETRY, delay
    if failure in FALL_BACK and policy.fallback and time_left_s > 0:
        return Next.FALL_BACK, 0.0
    return Next.GIVE_UP, 0.0
