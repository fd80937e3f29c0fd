"""``BudgetStore`` on Redis: one budget shared by every instance.

Per window two keys: ``<prefix>:{<owner>}:spent:<window key>`` (integer nanodollars, expiring when the
period ends) and ``<prefix>:{<owner>}:held:<window key>`` (a sorted set of ``<lease>:<nanodollars>``
scored by the lease's expiry). Reserving checks every window and holds the amount in each in one Lua
script, so concurrent calls on any instance can never see the same headroom twice; expired leases are
dropped by the same script. The clock is the server's (``TIME``). The hash tag is the tenant, so all of
one caller's windows live in one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import redis.asyncio as redis
import redis.exceptions as redis_exc

from adapters.limits.memory_budgets import NANO, to_nano
from contracts.budgets import BudgetRefusal, BudgetWindow
from contracts.errors import StoreUnavailable

_COMMITTED = """
local function committed(spent_key, held_key, now)
  redis.call('ZREMRANGEBYSCORE', held_key, '-inf', now)
  local total = tonumber(redis.call('GET', spent_key) or '0')
  for _, member in ipairs(redis.call('ZRANGE', held_key, 0, -1)) do
    total = total + tonumber(string.match(member, ':(%d+)$'))
  end
  return total
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

_RESERVE = (
    _COMMITTED
    + """
-- ARGV: lease, amount, lease_s, then per window: cap, resets_at
local lease, amount, lease_s = ARGV[1], ARGV[2], tonumber(ARGV[3])
local windows = #KEYS / 2
for i = 1, windows do
  local total = committed(KEYS[2 * i - 1], KEYS[2 * i], now)
  if total >= tonumber(ARGV[2 + 2 * i]) then return {i, tostring(total)} end
end
for i = 1, windows do
  redis.call('ZADD', KEYS[2 * i], string.format('%.6f', now + lease_s), lease .. ':' .. amount)
  redis.call('EXPIREAT', KEYS[2 * i], math.ceil(math.max(tonumber(ARGV[3 + 2 * i]), now + lease_s)))
end
return {0, '0'}
"""
)

_SETTLE = """
-- ARGV: lease, amount held, spent, then per window: resets_at
local member = ARGV[1] .. ':' .. ARGV[2]
for i = 1, #KEYS / 2 do
  redis.call('ZREM', KEYS[2 * i], member)
  redis.call('INCRBY', KEYS[2 * i - 1], ARGV[3])
  redis.call('EXPIREAT', KEYS[2 * i - 1], math.ceil(tonumber(ARGV[3 + i])))
end
return 0
"""

_READ = (
    _COMMITTED
    + """
return tostring(committed(KEYS[1], KEYS[2], now))
"""
)


@contextmanager
def _unavailable() -> Iterator[None]:
    try:
        yield
    except (redis_exc.RedisError, OSError) as exc:
        raise StoreUnavailable("budget store unavailable") from exc


class RedisBudgetStore:
    """Budgets shared by every instance using the same Redis and ``prefix``."""

    def __init__(self, client: redis.Redis, *, prefix: str = "sb:budget") -> None:
        self._prefix = prefix
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._read = client.register_script(_READ)

    def _keys(self, window: BudgetWindow) -> list[str]:
        tag = f"{self._prefix}:{{{window.key.split(':', 1)[0]}}}"  # the tenant
        return [f"{tag}:spent:{window.key}", f"{tag}:held:{window.key}"]

    async def reserve(
        self, windows: Sequence[BudgetWindow], lease: str, amount_usd: float, *, lease_s: float
    ) -> BudgetRefusal | None:
        amount = to_nano(amount_usd)
        keys = [k for w in windows for k in self._keys(w)]
        args: list[str | int | float] = [lease, amount, lease_s]
        for window in windows:
            args += [to_nano(window.cap_usd), window.resets_at]
        with _unavailable():
            index, total = await self._reserve(keys=keys, args=args)
        if int(index):
            return BudgetRefusal(window=windows[int(index) - 1], committed_usd=int(float(total)) / NANO)
        return None

    async def settle(
        self, windows: Sequence[BudgetWindow], lease: str, reserved_usd: float, spent_usd: float
    ) -> None:
        held = to_nano(reserved_usd)
        keys = [k for w in windows for k in self._keys(w)]
        with _unavailable():
            await self._settle(
                keys=keys, args=[lease, held, to_nano(spent_usd), *(w.resets_at for w in windows)]
            )

    async def committed(self, window: BudgetWindow) -> float:
        with _unavailable():
            total = await self._read(keys=self._keys(window))
        return int(float(total)) / NANO
