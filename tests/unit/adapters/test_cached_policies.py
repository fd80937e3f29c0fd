"""The policy cache: hits within the TTL, refreshes after it, and a local put is visible at once."""

from __future__ import annotations

from adapters.guardrails.cached_policies import CachedPolicyStore
from adapters.persistence.memory_policies import MemoryPolicyStore
from contracts.guardrails import GuardrailPolicy, MaxLengthRule


class CountingStore(MemoryPolicyStore):
    def __init__(self) -> None:
        super().__init__([GuardrailPolicy(name="default")])
        self.gets = 0

    async def get(self, tenant_id: str, name: str) -> GuardrailPolicy | None:
        self.gets += 1
        return await super().get(tenant_id, name)


async def test_cache_hits_expire_and_local_puts_invalidate() -> None:
    now = [0.0]
    inner = CountingStore()
    cache = CachedPolicyStore(inner, ttl_s=2.0, clock=lambda: now[0])
    assert (await cache.get("t", "default")) == GuardrailPolicy(name="default")
    await cache.get("t", "default")
    assert inner.gets == 1
    strict = GuardrailPolicy(name="default", rules=(MaxLengthRule(max_chars=5),))
    await cache.put("t", strict)
    assert await cache.get("t", "default") == strict
    await inner.put("t", GuardrailPolicy(name="default"))  # changed by another instance
    assert await cache.get("t", "default") == strict
    now[0] = 2.5
    assert await cache.get("t", "default") == GuardrailPolicy(name="default")


async def test_concurrent_misses_share_one_load() -> None:
    import asyncio

    inner = CountingStore()
    cache = CachedPolicyStore(inner)
    results = await asyncio.gather(*(cache.get("t", "default") for _ in range(50)))
    assert inner.gets == 1
    assert all(r == GuardrailPolicy(name="default") for r in results)
