"""Routes and deployment health, neutral: what ``GET /v1/routes`` and ``/v1/providers`` show, and the port
that keeps every instance's circuits in agreement.

A *route* is a name clients and agents use (an alias such as ``fast``, or a provider's name) mapped to
ordered or weighted *deployments*: a provider instance plus the upstream model to ask for there.
"""

from __future__ import annotations

from typing import Literal, Protocol

from contracts.base import Struct

CircuitState = Literal["ok", "cooling", "probing"]
"""``ok``: requests go there; ``cooling``: skipped until ``until``; ``probing``: the cooldown is over and
one request is finding out whether the deployment works again."""


class DeploymentState(Struct, frozen=True, kw_only=True):
    """A deployment's health as the circuit board sees it (passive: from real outcomes only)."""

    deployment: str
    state: CircuitState = "ok"
    until: float | None = None
    """Unix time the cooldown ends (while ``cooling``)."""
    consecutive_failures: int = 0
    last_failure: str | None = None
    """The class of the last failure (``contracts.models.FailureKind``)."""
    last_failure_at: float | None = None


class DeploymentInfo(Struct, frozen=True, kw_only=True):
    """One deployment of a route, with its health."""

    id: str
    provider: str
    model: str
    weight: float = 1.0
    health: DeploymentState


class RouteInfo(Struct, frozen=True, kw_only=True):
    """A route as ``GET /v1/routes`` and ``switchboard providers`` show it."""

    name: str
    strategy: str
    deployments: list[DeploymentInfo]
    source: str = "env"
    """Where it was declared: ``env`` (SWITCHBOARD_ROUTE_<ALIAS>), ``file`` (the routes file) or
    ``default`` (the enabled providers in order)."""


class HealthBoard(Protocol):
    """Circuit state per deployment, shared by every instance using the same backend (Redis), or local.

    ``admit`` is on every request's path and must answer from local memory when the deployment is
    healthy; only state changes may cost a round trip.
    """

    async def admit(self, deployment: str) -> bool:
        """True when a request may go to ``deployment`` now. False while it cools down. When a cooldown
        has ended, True for exactly one caller (the half-open probe; cluster-wide where shared) until
        that caller reports its outcome or the probe times out."""
        ...

    async def report(self, deployment: str, *, ok: bool, failure: str | None = None) -> None:
        """Record a real outcome. Failures counted by the policy open a cooldown; a success closes it."""
        ...

    def state(self, deployment: str) -> DeploymentState:
        """The last known state (local view, no I/O)."""
        ...

    async def aclose(self) -> None: ...


class HealthPolicy(Struct, frozen=True, kw_only=True):
    """When a deployment's circuit opens and for how long (``SWITCHBOARD_ROUTING_*``).

    It opens after ``failures_to_open`` consecutive counted failures, or when at least ``min_samples`` of
    the last ``window`` outcomes are known and ``failure_rate`` of them failed. It stays open
    ``cooldown_s``; then one probe request decides (``probe_timeout_s`` frees a probe that never reported).
    """

    failures_to_open: int = 3
    failure_rate: float = 0.5
    window: int = 20
    min_samples: int = 10
    cooldown_s: float = 30.0
    probe_timeout_s: float = 60.0


COUNTED_FAILURES = frozenset(
    {
        "rate_limited",
        "overloaded",
        "server_error",
        "timeout",
        "refused",
        "dropped",
        "stalled",
        "malformed",
        "auth",
        "unsupported",
    }
)
"""Failures that say something about the deployment (not about one request): they count towards opening
its circuit. ``bad_request``, ``context_too_long`` and ``content_filtered`` do not."""


class DeploymentSpec(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One deployment as configured: ``provider`` (an enabled instance), ``model`` (upstream model; None:
    the instance's default), ``weight`` (weighted strategy), ``handles`` (special failures it is a fallback
    for: ``context_too_long``, ``content_filtered``), ``max_in_flight`` (per-process cap) and
    ``capabilities`` overriding the instance's (``tools``, ``structured_output``, ``images``)."""

    provider: str
    model: str | None = None
    weight: float = 1.0
    handles: tuple[str, ...] = ()
    max_in_flight: int | None = None
    capabilities: dict[str, bool] = {}


class RouteSpec(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A route as configured (``SWITCHBOARD_ROUTE_<ALIAS>`` or a ``[[routes]]`` table of the routes file).
    Options left ``None`` take the ``SWITCHBOARD_ROUTING_*`` defaults."""

    name: str
    deployments: tuple[DeploymentSpec, ...]
    strategy: str | None = None
    retries: int | None = None
    timeout_s: float | None = None
    fallback: bool | None = None
