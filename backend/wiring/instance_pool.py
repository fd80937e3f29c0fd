"""Provider instances shared by configuration generations (docs/operations.md, "Changing configuration live").

A provider instance holds long-lived clients and connection pools. A reload builds a new generation of
the live services, but an instance whose settings did not change is handed over as it is: the pool keys
each instance by (name, kind, a digest of its parsed settings) and counts the generations using it. An
instance is closed when the last generation using it is closed, i.e. after the last request or stream
that started on that generation has finished.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec

from contracts.providers import ProviderInstance

InstanceKey = tuple[str, str, str]
"""(instance name, kind, sha256 of the parsed settings)."""


def instance_key(name: str, kind: str, parsed: Any) -> InstanceKey:
    return name, kind, hashlib.sha256(msgspec.json.encode(parsed)).hexdigest()


class _Entry:
    __slots__ = ("instance", "users")

    def __init__(self, instance: ProviderInstance) -> None:
        self.instance = instance
        self.users = 0


class InstancePool:
    """Instances by key, each with the number of generations that use it. One per process."""

    def __init__(self) -> None:
        self._entries: dict[InstanceKey, _Entry] = {}
        self.built = 0
        """Instances built so far (tests assert reuse with it)."""

    def acquire(self, key: InstanceKey, build: Callable[[], ProviderInstance]) -> ProviderInstance:
        """The instance for ``key``, built on first use; the caller must ``release`` it once."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(build())
            self.built += 1
        entry.users += 1
        return entry.instance

    async def release(self, key: InstanceKey) -> None:
        """One user fewer; the last one closes the instance."""
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.users -= 1
        if entry.users <= 0:
            del self._entries[key]
            if entry.instance.aclose is not None:
                await entry.instance.aclose()

    def users(self, key: InstanceKey) -> int:
        entry = self._entries.get(key)
        return entry.users if entry is not None else 0

    def held(self) -> list[InstanceKey]:
        """The keys of the instances alive now."""
        return list(self._entries)

    async def aclose(self) -> None:
        """Close whatever is left (at shutdown, after every generation was closed)."""
        entries, self._entries = self._entries, {}
        for entry in entries.values():
            if entry.instance.aclose is not None:
                await entry.instance.aclose()
