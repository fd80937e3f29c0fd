"""``RedisHealthBoard``: deployment circuits shared by every instance on one Redis.

Each instance keeps a local mirror of the circuits (the memory board's rules), so ``admit`` on a healthy
deployment costs no round trip. What changes state goes through Redis:

- a counted failure runs one Lua script on ``<prefix>health:<deployment>`` (a hash: ``consecutive``,
  ``until``, ``last_failure``, ``last_failure_at``) that counts it and opens the circuit (``until`` =
  server time + cooldown) once ``failures_to_open`` consecutive failures are reached across instances,
  or when this instance's own failure rate trips; then a notice on ``<prefix>health`` (pub/sub);
- a success after failures deletes the hash and the probe key, and notifies;
- the half-open probe is a ``SET <prefix>probe:<deployment> NX PX <probe timeout>``: one instance wins it;
- every instance listens to the notices and reloads the deployment named, and reloads every known
  deployment every ``refresh_s`` in case a notice was lost.

Redis down: the board degrades to this instance's own view (logged once per outage), never failing a
request because of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import redis.exceptions as redis_exc
import structlog

from adapters.routing.memory_health import Circuit, admit_local, record, state_of
from contracts.routing import COUNTED_FAILURES, DeploymentState, HealthPolicy

log = structlog.get_logger("switchboard.routing")

_FAIL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local consecutive = redis.call('HINCRBY', KEYS[1], 'consecutive', 1)
redis.call('HSET', KEYS[1], 'last_failure', ARGV[1], 'last_failure_at', string.format('%.3f', now))
local probing = redis.call('EXISTS', KEYS[2]) == 1
if consecutive >= tonumber(ARGV[2]) or ARGV[4] == '1' or probing then
  redis.call('HSET', KEYS[1], 'until', string.format('%.3f', now + tonumber(ARGV[3])))
  redis.call('DEL', KEYS[2])
end
redis.call('PEXPIRE', KEYS[1], math.floor((tonumber(ARGV[3]) + 3600) * 1000))
redis.call('SADD', KEYS[3], ARGV[5])
return 1
"""
_ERRORS = (redis_exc.RedisError, OSError, asyncio.TimeoutError)
CLOSE_WAIT_S = 2.0


class RedisHealthBoard:
    """Implements ``HealthBoard`` on Redis with a local mirror (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        policy: HealthPolicy,
        *,
        prefix: str = "switchboard:",
        refresh_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._policy = policy
        self._prefix = prefix
        self._channel = f"{prefix}health"
        self._index = f"{prefix}health:index"
        self._refresh_s = refresh_s
        self._clock = clock
        self._mirror: dict[str, Circuit] = {}
        self._fail = client.register_script(_FAIL)
        self._listener: asyncio.Task[None] | None = None
        self._degraded = False

    # -- keys and the listener ------------------------------------------------------------------------

    def _key(self, deployment: str) -> str:
        return f"{self._prefix}health:{deployment}"

    def _probe_key(self, deployment: str) -> str:
        return f"{self._prefix}probe:{deployment}"

    def start(self) -> None:
        """Start listening (and load every deployment another instance has reported on). Idempotent;
        also done on first use."""
        self._ensure_listener()

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        """Reload deployments named by notices; reload them all every ``refresh_s``."""
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    await self._reload_all()
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=self._refresh_s
                        )
                        if message is None:
                            await self._reload_all()
                            continue
                        data = message.get("data")
                        await self._reload(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except _ERRORS as exc:
                self._outage(exc)
                await asyncio.sleep(min(self._refresh_s, 1.0))

    async def _reload_all(self) -> None:
        known = {
            m.decode() if isinstance(m, bytes) else str(m) for m in await self._client.smembers(self._index)
        }
        for deployment in known | set(self._mirror):
            await self._reload(deployment)

    async def _reload(self, deployment: str) -> None:
        raw = await self._client.hgetall(self._key(deployment))
        self._degraded = False
        circuit = self._mirror.setdefault(deployment, Circuit())
        fields = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        circuit.consecutive = int(fields.get("consecutive", 0))
        circuit.until = float(fields.get("until", 0.0))
        circuit.last_failure = fields.get("last_failure") or circuit.last_failure
        at = fields.get("last_failure_at")
        circuit.last_failure_at = float(at) if at else circuit.last_failure_at
        if circuit.until == 0.0:
            circuit.probe_since = None

    def _outage(self, exc: BaseException) -> None:
        if not self._degraded:
            log.warning("routing.health_backend_unavailable", error=type(exc).__name__)
        self._degraded = True

    # -- the port -------------------------------------------------------------------------------------

    async def admit(self, deployment: str) -> bool:
        self._ensure_listener()
        circuit = self._mirror.get(deployment)
        now = self._clock()
        if circuit is None or circuit.until == 0.0:
            return True
        if now < circuit.until:
            return False
        try:
            won = await self._client.set(
                self._probe_key(deployment), "1", nx=True, px=int(self._policy.probe_timeout_s * 1000)
            )
        except _ERRORS as exc:
            self._outage(exc)
            return admit_local(circuit, self._policy, now)
        if won:
            circuit.probe_since = now
        return bool(won)

    async def report(self, deployment: str, *, ok: bool, failure: str | None = None) -> None:
        self._ensure_listener()
        circuit = self._mirror.get(deployment)
        if ok and (circuit is None or (circuit.consecutive == 0 and circuit.until == 0.0)):
            if circuit is not None:
                circuit.outcomes.append(True)
            return
        if not ok and failure not in COUNTED_FAILURES:
            return
        circuit = circuit or self._mirror.setdefault(deployment, Circuit())
        now = self._clock()
        record(circuit, self._policy, ok, failure, now)  # the local view first: right even if Redis is down
        try:
            if ok:
                await self._client.delete(self._key(deployment), self._probe_key(deployment))
            else:
                tripped = "1" if circuit.tripped(self._policy) else "0"
                await self._fail(
                    keys=[self._key(deployment), self._probe_key(deployment), self._index],
                    args=[
                        failure or "",
                        self._policy.failures_to_open,
                        self._policy.cooldown_s,
                        tripped,
                        deployment,
                    ],
                )
            await self._client.publish(self._channel, deployment)
            await self._reload(deployment)
        except _ERRORS as exc:
            self._outage(exc)

    def state(self, deployment: str) -> DeploymentState:
        return state_of(deployment, self._mirror.get(deployment), self._clock())

    async def aclose(self) -> None:
        """Stop listening. Bounded: a listener stuck in the Redis client's own cleanup is left behind
        (cancelled) rather than holding up shutdown."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            await asyncio.wait({listener}, timeout=CLOSE_WAIT_S)
            if listener.done() and not listener.cancelled():
                with contextlib.suppress(*_ERRORS):
                    listener.result()
