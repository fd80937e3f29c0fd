"""``RateLimiter`` conformance: every adapter enforces the same exact sliding-window limits and slots.

Durations are short real ones (tenths of a second) so that windows and leases really pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as redis

from adapters.limits.memory_limiter import MemoryRateLimiter
from adapters.limits.redis_limiter import RedisRateLimiter
from contracts.errors import StoreUnavailable
from contracts.ports import RateLimiter


async def test_limit_is_enforced_exactly(limiter: RateLimiter) -> None:
    """limit=5: five hits pass with remaining 4..0, the sixth is refused with a reset within the window."""
    decisions = [await limiter.hit("b", limit=5, window_s=10) for _ in range(6)]

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert all(d.limit == 5 for d in decisions)
    assert 0 < decisions[-1].reset_s <= 10


async def test_refused_hits_are_not_counted(limiter: RateLimiter) -> None:
    """Hammering a full bucket does not push its reset further away."""
    await limiter.hit("b", limit=1, window_s=0.3)
    for _ in range(5):
        assert not (await limiter.hit("b", limit=1, window_s=0.3)).allowed
    await asyncio.sleep(0.35)

    assert (await limiter.hit("b", limit=1, window_s=0.3)).allowed


async def test_window_slides(limiter: RateLimiter) -> None:
    """Only the hits of the last ``window_s`` count: the oldest one frees its slot first."""
    await limiter.hit("b", limit=2, window_s=0.4)
    await asyncio.sleep(0.2)
    await limiter.hit("b", limit=2, window_s=0.4)
    refused = await limiter.hit("b", limit=2, window_s=0.4)
    assert not refused.allowed and 0 < refused.reset_s <= 0.25

    await asyncio.sleep(refused.reset_s + 0.05)

    assert (await limiter.hit("b", limit=2, window_s=0.4)).allowed
    assert not (await limiter.hit("b", limit=2, window_s=0.4)).allowed


async def test_cost_counts_as_that_many_hits(limiter: RateLimiter) -> None:
    """A hit of cost 3 uses 3 of the budget; a cost that does not fit is refused and not counted."""
    assert (await limiter.hit("b", limit=5, window_s=10, cost=3)).remaining == 2
    assert not (await limiter.hit("b", limit=5, window_s=10, cost=3)).allowed
    last = await limiter.hit("b", limit=5, window_s=10, cost=2)

    assert last.allowed and last.remaining == 0
    assert not (await limiter.hit("other", limit=5, window_s=10, cost=6)).allowed


async def test_charge_counts_against_later_checks(limiter: RateLimiter) -> None:
    """Tokens charged after a turn: a cost-0 or cost-1 check passes while below the limit, then refuses."""
    await limiter.charge("tpm", window_s=10, cost=4)
    probe = await limiter.hit("tpm", limit=5, window_s=10, cost=0)
    assert probe.allowed and probe.remaining == 1
    assert (await limiter.hit("tpm", limit=5, window_s=10, cost=1)).allowed

    await limiter.charge("tpm", window_s=10, cost=100)

    for cost in (0, 1):
        refused = await limiter.hit("tpm", limit=5, window_s=10, cost=cost)
        assert not refused.allowed and refused.remaining == 0 and 0 < refused.reset_s <= 10


async def test_charge_at_exactly_the_limit_refuses_probes(limiter: RateLimiter) -> None:
    await limiter.charge("tpm", window_s=10, cost=5)

    assert not (await limiter.hit("tpm", limit=5, window_s=10, cost=0)).allowed


async def test_charges_leave_the_window(limiter: RateLimiter) -> None:
    await limiter.charge("tpm", window_s=0.3, cost=50)
    assert not (await limiter.hit("tpm", limit=5, window_s=0.3, cost=0)).allowed
    await asyncio.sleep(0.35)

    assert (await limiter.hit("tpm", limit=5, window_s=0.3, cost=0)).allowed


async def test_buckets_are_independent(limiter: RateLimiter) -> None:
    await limiter.hit("a", limit=1, window_s=10)

    assert (await limiter.hit("b", limit=1, window_s=10)).allowed


async def test_acquire_and_release_slots(limiter: RateLimiter) -> None:
    """limit=2: two leases, the third is refused with no lease; releasing one frees a slot."""
    first, lease_1 = await limiter.acquire("s", limit=2, lease_s=10)
    second, lease_2 = await limiter.acquire("s", limit=2, lease_s=10)
    refused, none = await limiter.acquire("s", limit=2, lease_s=10)

    assert (first.allowed, first.remaining, second.allowed, second.remaining) == (True, 1, True, 0)
    assert lease_1 and lease_2 and lease_1 != lease_2
    assert not refused.allowed and none is None and refused.remaining == 0 and 0 < refused.reset_s <= 10

    await limiter.release("s", lease_1)
    again, lease_3 = await limiter.acquire("s", limit=2, lease_s=10)
    assert again.allowed and lease_3 is not None


async def test_release_of_unknown_lease_is_harmless(limiter: RateLimiter) -> None:
    await limiter.release("s", "no-such-lease")
    _, lease = await limiter.acquire("s", limit=1, lease_s=10)
    assert lease is not None
    await limiter.release("s", lease)
    await limiter.release("s", lease)

    assert (await limiter.acquire("s", limit=1, lease_s=10))[0].allowed


async def test_unreleased_lease_expires(limiter: RateLimiter) -> None:
    """A crashed instance never releases: its slot frees itself after ``lease_s``."""
    assert (await limiter.acquire("s", limit=1, lease_s=0.2))[1] is not None
    refused, _ = await limiter.acquire("s", limit=1, lease_s=0.2)
    assert not refused.allowed and 0 < refused.reset_s <= 0.2
    await asyncio.sleep(0.25)

    assert (await limiter.acquire("s", limit=1, lease_s=0.2))[1] is not None


async def test_bad_arguments_are_rejected(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="negative"):
        await limiter.hit("b", limit=5, window_s=10, cost=-1)
    with pytest.raises(ValueError, match="positive"):
        await limiter.hit("b", limit=5, window_s=0)


async def test_memory_reset_is_when_enough_old_hits_leave() -> None:
    """With a fake clock: a refused cost-2 hit waits for the second-oldest entry to leave, not the oldest."""
    now = [100.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    for stamp in (100.0, 101.0, 102.0):
        now[0] = stamp
        await limiter.hit("b", limit=3, window_s=10)

    refused = await limiter.hit("b", limit=3, window_s=10, cost=2)

    assert refused.reset_s == pytest.approx(101.0 + 10 - 102.0)


@pytest.mark.services
async def test_two_redis_instances_share_one_budget_exactly(
    redis_client: tuple[redis.Redis, str], other_redis_client: redis.Redis
) -> None:
    """40 concurrent hits through two limiters on two connection pools: exactly ``limit`` pass."""
    client, prefix = redis_client
    instances = [RedisRateLimiter(client, prefix=prefix), RedisRateLimiter(other_redis_client, prefix=prefix)]

    decisions = await asyncio.gather(
        *(instances[n % 2].hit("shared", limit=7, window_s=10) for n in range(40))
    )

    assert sum(d.allowed for d in decisions) == 7
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(7))


@pytest.mark.services
async def test_two_redis_instances_share_slots_exactly(
    redis_client: tuple[redis.Redis, str], other_redis_client: redis.Redis
) -> None:
    client, prefix = redis_client
    instances = [RedisRateLimiter(client, prefix=prefix), RedisRateLimiter(other_redis_client, prefix=prefix)]

    results = await asyncio.gather(
        *(instances[n % 2].acquire("slots", limit=3, lease_s=10) for n in range(20))
    )

    assert sum(lease is not None for _, lease in results) == 3


@pytest.mark.services
async def test_redis_keys_expire_with_the_window(redis_client: tuple[redis.Redis, str]) -> None:
    """Idle buckets leave nothing behind: every key carries a TTL of about the window or lease."""
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, prefix=prefix)
    await limiter.hit("b", limit=5, window_s=2)
    await limiter.acquire("b", limit=5, lease_s=3)

    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    ttls = sorted([await client.pttl(key) for key in keys])

    assert len(keys) == 2
    assert 0 < ttls[0] <= 3000 and 2000 < ttls[1] <= 4000


async def test_redis_down_raises_store_unavailable_without_the_url(closed_port_client: redis.Redis) -> None:
    limiter = RedisRateLimiter(closed_port_client, prefix="sb:rl")
    started = time.monotonic()
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: limiter.hit("b", limit=5, window_s=10),
        lambda: limiter.charge("b", window_s=10, cost=3),
        lambda: limiter.acquire("b", limit=5, lease_s=10),
        lambda: limiter.release("b", "lease"),
    ]

    for call in calls:
        with pytest.raises(StoreUnavailable) as caught:
            await call()
        assert str(caught.value) == "rate limiter unavailable"
        assert "127.0.0.1" not in str(caught.value)
    assert time.monotonic() - started < 3
