"""``ApiKeyStore`` over a fixed list of keys (from settings): SHA-256 hashes only, never secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from adapters.keys.hashing import digests_equal, hash_secret
from contracts.auth import Principal


class KeyEntryLike(Protocol):
    """What the store needs of an entry (the composition root's entries, or ``StaticKey``). An
    ``expires_at`` attribute, when present, is honoured."""

    @property
    def key_id(self) -> str: ...

    @property
    def secret_sha256(self) -> str: ...

    @property
    def tenant_id(self) -> str: ...

    @property
    def scopes(self) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class StaticKey:
    """One configured key: the SHA-256 hex of its secret, its tenant, scopes and optional expiry."""

    key_id: str
    secret_sha256: str
    tenant_id: str
    scopes: frozenset[str]
    expires_at: datetime | None = None


class StaticApiKeyStore:
    """Authenticates against a fixed set of keys: look up by hash, then compare in constant time."""

    def __init__(
        self, entries: Iterable[KeyEntryLike], *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._clock = clock
        self._by_hash: dict[str, tuple[str, Principal]] = {}
        for entry in entries:
            digest = entry.secret_sha256.lower()
            principal = Principal(
                key_id=entry.key_id,
                tenant_id=entry.tenant_id,
                scopes=frozenset(entry.scopes),
                expires_at=getattr(entry, "expires_at", None),
            )
            self._by_hash[digest] = (digest, principal)

    async def authenticate(self, secret: str) -> Principal | None:
        digest = hash_secret(secret)
        found = self._by_hash.get(digest)
        if found is None or not digests_equal(found[0], digest):
            return None
        principal = found[1]
        if principal.expires_at is not None and principal.expires_at <= self._clock():
            return None
        return principal
