"""``MemoryHealthBoard``: deployment circuits in this process only (no ``REDIS_URL``).

Per deployment: consecutive counted failures, a ring of the last ``window`` outcomes, the cooldown's end
and whether a half-open probe is out. Every call is a few dictionary operations; nothing awaits.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.routing import COUNTED_FAILURES, DeploymentState, HealthPolicy


@dataclass(slots=True)
class Circuit:
    """One deployment's local record."""

    consecutive: int = 0
    outcomes: deque[bool] = field(default_factory=deque)
    until: float = 0.0
    probe_since: float | None = None
    last_failure: str | None = None
    last_failure_at: float | None = None

    def tripped(self, policy: HealthPolicy) -> bool:
        if self.consecutive >= policy.failures_to_open:
            return True
        if len(self.outcomes) < policy.min_samples:
            return False
        failed = sum(1 for ok in self.outcomes if not ok)
        return failed / len(self.outcomes) >= policy.failure_rate


def admit_local(circuit: Circuit | None, policy: HealthPolicy, now: float) -> bool:
    """The circuit rules on one record (shared with the Redis board's local mirror)."""
    if circuit is None or circuit.until == 0.0:
        return True
    if now < circuit.until:
        return False
    if circuit.probe_since is not None and now - circuit.probe_since < policy.probe_timeout_s:
        return False
    circuit.probe_since = now
    return True


def record(circuit: Circuit, policy: HealthPolicy, ok: bool, failure: str | None, now: float) -> bool:
    """Apply one outcome; True when it changed whether the circuit is open."""
    was_open = circuit.until != 0.0
    if ok:
        circuit.consecutive = 0
        circuit.outcomes.append(True)
        circuit.until = 0.0
        circuit.probe_since = None
    elif failure in COUNTED_FAILURES:
        circuit.consecutive += 1
        circuit.outcomes.append(False)
        circuit.last_failure, circuit.last_failure_at = failure, now
        if circuit.probe_since is not None or circuit.tripped(policy):
            circuit.until = now + policy.cooldown_s
            circuit.probe_since = None
            circuit.outcomes.clear()
    else:  # the deployment answered; the request was the problem
        circuit.probe_since = None if circuit.until == 0.0 else circuit.probe_since
        return False
    while len(circuit.outcomes) > policy.window:
        circuit.outcomes.popleft()
    return was_open != (circuit.until != 0.0)


def state_of(deployment: str, circuit: Circuit | None, now: float) -> DeploymentState:
    if circuit is None:
        return DeploymentState(deployment=deployment)
    if circuit.until == 0.0:
        state = "ok"
    elif now < circuit.until:
        state = "cooling"
    else:
        state = "probing"
    return DeploymentState(
        deployment=deployment,
        state=state,
        until=circuit.until or None,
        consecutive_failures=circuit.consecutive,
        last_failure=circuit.last_failure,
        last_failure_at=circuit.last_failure_at,
    )


class MemoryHealthBoard:
    """Implements ``HealthBoard`` for one process. ``clock`` is wall time (tests pass their own)."""

    def __init__(self, policy: HealthPolicy, clock: Callable[[], float] = time.time) -> None:
        self._policy = policy
        self._clock = clock
        self._circuits: dict[str, Circuit] = {}

    async def admit(self, deployment: str) -> bool:
        return admit_local(self._circuits.get(deployment), self._policy, self._clock())

    async def report(self, deployment: str, *, ok: bool, failure: str | None = None) -> None:
        circuit = self._circuits.get(deployment)
        if circuit is None:
            if ok:
                return  # healthy and unknown: nothing to remember (the common case costs nothing)
            circuit = self._circuits[deployment] = Circuit()
        record(circuit, self._policy, ok, failure, self._clock())

    def state(self, deployment: str) -> DeploymentState:
        return state_of(deployment, self._circuits.get(deployment), self._clock())

    async def aclose(self) -> None:
        return None
