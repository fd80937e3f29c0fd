"""A read-through cache in front of any ``GuardrailPolicyStore``.

Every chat turn reads its policy; caching it for a few seconds takes one database query off the hot path.
Concurrent misses of one key share a single load (no stampede when a burst of turns starts together).
``put`` on this instance invalidates at once; other instances see a change within ``ttl_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from contracts.guardrails import GuardrailPolicy
from contracts.ports import GuardrailPolicyStore


class CachedPolicyStore:
    def __init__(
        self, inner: GuardrailPolicyStore, *, ttl_s: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._inner = inner
        self._ttl = ttl_s
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, GuardrailPolicy | None]] = {}
        self._loading: dict[tuple[str, str], asyncio.Future[GuardrailPolicy | None]] = {}

    async def get(self, tenant_id: str, name: str) -> GuardrailPolicy | None:
        key = (tenant_id, name)
        hit = self._entries.get(key)
        now = self._clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[GuardrailPolicy | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            policy = await self._inner.get(tenant_id, name)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            raise
        finally:
            del self._loading[key]
        future.set_result(policy)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + self._ttl, policy)
        return policy

    async def list(self, tenant_id: str) -> list[GuardrailPolicy]:
        return await self._inner.list(tenant_id)

    async def put(self, tenant_id: str, policy: GuardrailPolicy) -> GuardrailPolicy:
        stored = await self._inner.put(tenant_id, policy)
        self._entries.pop((tenant_id, policy.name), None)
        return stored
