"""``RateLimiter`` on Redis, exact across every instance sharing the server.

Sliding-window log: one sorted set per bucket (``<prefix>:hits:<bucket>``), one member per counted hit,
``<uuid>:<cost>`` scored by the time it was counted. Concurrency: one sorted set per bucket
(``<prefix>:slots:<bucket>``) of lease ids scored by their expiry. Each check-and-count is one Lua script
that reads the clock with the server's ``TIME`` (microseconds), so instances with skewed clocks agree and
concurrent hits can never overshoot the limit. Keys carry a ``PEXPIRE`` so idle buckets disappear.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio as redis
import redis.exceptions as redis_exc

from contracts.errors import StoreUnavailable
from contracts.ports import RateDecision

_CLOCK_AND_WINDOW = """
local function fmt(x) return string.format('%.0f', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - window))
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #entries, 2 do used = used + tonumber(string.match(entries[i], ':(%d+)$')) end
"""

_HIT = (
    _CLOCK_AND_WINDOW
    + """
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local need = math.max(cost, 1)
if used + need > limit then
  local reset = window
  if need <= limit then
    local freed = 0
    for i = 1, #entries, 2 do
      freed = freed + tonumber(string.match(entries[i], ':(%d+)$'))
      if used - freed + need <= limit then
        reset = tonumber(entries[i + 1]) + window - now
        break
      end
    end
  end
  return {0, 0, fmt(reset)}
end
if cost > 0 then
  redis.call('ZADD', KEYS[1], fmt(now), ARGV[4] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], fmt(math.ceil(window / 1000) + 1))
  used = used + cost
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = 0
if #first > 0 then reset = tonumber(first[2]) + window - now end
return {1, limit - used, fmt(reset)}
"""
)

_CHARGE = (
    _CLOCK_AND_WINDOW
    + """
redis.call('ZADD', KEYS[1], fmt(now), ARGV[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], fmt(math.ceil(window / 1000) + 1))
return used + tonumber(ARGV[3])
"""
)

_ACQUIRE = """
local function fmt(x) return string.format('%.0f', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local reset = 0
  if #first > 0 then reset = tonumber(first[2]) - now end
  return {0, 0, fmt(reset)}
end
redis.call('ZADD', KEYS[1], fmt(now + tonumber(ARGV[2])), ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], fmt(math.ceil((tonumber(last[2]) - now) / 1000) + 1))
return {1, limit - count - 1, '0'}
"""


@contextmanager
def _unavailable() -> Iterator[None]:
    """Any Redis or socket failure becomes ``StoreUnavailable`` with a fixed message (no URL, no password)."""
    try:
        yield
    except (redis_exc.RedisError, ConnectionError, TimeoutError, OSError) as exc:
        raise StoreUnavailable("rate limiter unavailable") from exc


def _micros(seconds: float) -> int:
    if seconds <= 0 or not math.isfinite(seconds):
        raise ValueError(f"a duration must be positive and finite, got {seconds!r}")
    return max(round(seconds * 1_000_000), 1)


def _decision(reply: list[bytes | int | str], limit: int) -> RateDecision:
    allowed, remaining, reset_us = (int(part) for part in reply)
    return RateDecision(
        allowed=bool(allowed),
        limit=limit,
        remaining=max(remaining, 0),
        reset_s=max(reset_us, 0) / 1_000_000,
    )


class RedisRateLimiter:
    """Limits shared by every instance that uses the same Redis and ``prefix``."""

    def __init__(self, client: redis.Redis, *, prefix: str = "sb:rl") -> None:
        self._client = client
        self._prefix = prefix
        self._hit = client.register_script(_HIT)
        self._charge = client.register_script(_CHARGE)
        self._acquire = client.register_script(_ACQUIRE)

    def _hits_key(self, bucket: str) -> str:
        return f"{self._prefix}:hits:{bucket}"

    def _slots_key(self, bucket: str) -> str:
        return f"{self._prefix}:slots:{bucket}"

    async def hit(self, bucket: str, *, limit: int, window_s: float, cost: int = 1) -> RateDecision:
        """Allow when ``cost`` (at least 1 for the check, so a cost-0 probe fails once the budget is
        spent) fits in what is left of ``limit`` over the last ``window_s``; count it only if allowed."""
        if cost < 0:
            raise ValueError(f"cost must not be negative, got {cost}")
        args: list[int | str] = [_micros(window_s), limit, cost, uuid.uuid4().hex]
        with _unavailable():
            reply = await self._hit(keys=[self._hits_key(bucket)], args=args)
        return _decision(reply, limit)

    async def charge(self, bucket: str, *, window_s: float, cost: int) -> None:
        """Count ``cost`` now, unchecked; it leaves the window ``window_s`` later."""
        if cost < 0:
            raise ValueError(f"cost must not be negative, got {cost}")
        if cost == 0:
            return
        args: list[int | str] = [_micros(window_s), uuid.uuid4().hex, cost]
        with _unavailable():
            await self._charge(keys=[self._hits_key(bucket)], args=args)

    async def acquire(self, bucket: str, *, limit: int, lease_s: float) -> tuple[RateDecision, str | None]:
        """Take a slot for at most ``lease_s`` seconds; expired leases are freed first."""
        lease = uuid.uuid4().hex
        with _unavailable():
            reply = await self._acquire(keys=[self._slots_key(bucket)], args=[limit, _micros(lease_s), lease])
        decision = _decision(reply, limit)
        return decision, lease if decision.allowed else None

    async def release(self, bucket: str, lease: str) -> None:
        """Free a slot; releasing an unknown or expired lease does nothing."""
        with _unavailable():
            await self._client.zrem(self._slots_key(bucket), lease)
