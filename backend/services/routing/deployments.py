"""Deployments (a provider instance + an upstream model) and the orders a route tries them in.

A ``Deployment`` belongs to one route (weight, handles, caps are the route's), but its ``stats`` (calls in
flight in this process, latency average) are shared by every route naming the same ``provider:model``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from contracts.ports import EmbeddingModel, LanguageModel

EWMA_ALPHA = 0.2
"""Weight of the newest latency sample in a deployment's moving average."""


@dataclass(slots=True)
class DeploymentStats:
    """Local load of one ``provider:model``: calls in flight and a moving average of latency."""

    in_flight: int = 0
    ewma_ms: float | None = None

    def observe(self, latency_ms: float) -> None:
        previous = self.ewma_ms
        self.ewma_ms = latency_ms if previous is None else previous + EWMA_ALPHA * (latency_ms - previous)


@dataclass(slots=True, eq=False)
class Deployment:
    """``model`` is the upstream model name sent to ``target`` (the provider instance's LanguageModel).
    ``capabilities``: what it can serve (``tools``, ``structured_output``, ``images``...);
    ``handles``: special failures it is a fallback for (``context_too_long``, ``content_filtered``);
    ``max_in_flight``: skip it while that many of this process's calls are open (None: no cap)."""

    provider: str
    model: str
    target: LanguageModel
    capabilities: frozenset[str]
    weight: float = 1.0
    handles: frozenset[str] = frozenset()
    max_in_flight: int | None = None
    embedder: EmbeddingModel | None = None
    stats: DeploymentStats = field(default_factory=DeploymentStats)

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.model}"

    def can_serve(self, needs: frozenset[str]) -> bool:
        return needs <= self.capabilities

    def busy(self) -> bool:
        return self.max_in_flight is not None and self.stats.in_flight >= self.max_in_flight


def weighted_order(deployments: Sequence[Deployment], rng: random.Random) -> list[Deployment]:
    """A random order in which each deployment comes first with probability proportional to its weight
    (Efraimidis-Spirakis keys u^(1/w)); the rest follow the same draw, so fallback is weighted too."""
    keyed = [(rng.random() ** (1.0 / d.weight) if d.weight > 0 else -1.0, d) for d in deployments]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [d for _, d in keyed]


def least_busy_order(deployments: Sequence[Deployment], rng: random.Random) -> list[Deployment]:
    """Fewest calls in flight first; ties broken at random so equal deployments share the load."""
    return sorted(deployments, key=lambda d: (d.stats.in_flight, rng.random()))


def latency_order(deployments: Sequence[Deployment], rng: random.Random) -> list[Deployment]:
    """Power of two choices on the latency average: of two deployments drawn at random, the faster goes
    first (one never measured counts as fastest, so it gets measured); the rest follow, fastest first."""
    if len(deployments) < 2:
        return list(deployments)
    a, b = rng.sample(list(deployments), 2)
    first = a if _ewma(a) <= _ewma(b) else b
    rest = sorted((d for d in deployments if d is not first), key=_ewma)
    return [first, *rest]


def _ewma(deployment: Deployment) -> float:
    ewma = deployment.stats.ewma_ms
    return ewma if ewma is not None else 0.0


ORDERS = {
    "weighted": weighted_order,
    "least_busy": least_busy_order,
    "latency": latency_order,
}
