"""``ApiKeyStore`` asking several stores in order (settings keys first, then database keys)."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.auth import Principal
from contracts.ports import ApiKeyStore


class ChainedApiKeyStore:
    def __init__(self, stores: Sequence[ApiKeyStore]) -> None:
        self._stores = tuple(stores)

    async def authenticate(self, secret: str) -> Principal | None:
        for store in self._stores:
            principal = await store.authenticate(secret)
            if principal is not None:
                return principal
        return None
