"""Values built once per identity of a tuple's items: e.g. an agent's tool specs -> their encoded bytes.

Keys are the ``id()`` of every item (not their contents: tool schemas are dicts, unhashable and costly to
compare), so a tuple rebuilt from the same spec objects hits the cache too. Each entry holds a reference
to its items, so no id is reused by another object while it is cached. Bounded: the oldest entry goes
first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")


class IdentityCache(Generic[T, V]):
    """``get(items)`` -> ``build(items)``, computed once per identity of ``items``' elements."""

    __slots__ = ("_build", "_entries", "_size")

    def __init__(self, build: Callable[[tuple[T, ...]], V], size: int = 256) -> None:
        self._build = build
        self._size = size
        self._entries: dict[tuple[int, ...], tuple[tuple[T, ...], V]] = {}

    def get(self, items: tuple[T, ...]) -> V:
        """The value for ``items`` (built now if these very objects were not seen, or were evicted)."""
        key = tuple(map(id, items))
        entry = self._entries.get(key)
        if entry is not None:
            return entry[1]
        value = self._build(items)
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (items, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)
