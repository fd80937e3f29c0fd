"""What a model call costs: prices per million tokens, and the port that prices a call's usage."""

from __future__ import annotations

from typing import Protocol

from contracts.base import Struct
from contracts.usage import Usage


class Price(Struct, frozen=True, kw_only=True):
    """US dollars per million tokens. Cache reads and writes default to the input price."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(self, usage: Usage) -> float:
        """The price of ``usage``: its input tokens include the cached (read) and cache-write parts,
        each at its own price; reasoning tokens are output tokens."""
        read = usage.cached_tokens
        write = usage.cache_write_tokens
        plain = max(usage.input_tokens - read - write, 0)
        dollars = (
            plain * self.input
            + read * (self.input if self.cache_read is None else self.cache_read)
            + write * (self.input if self.cache_write is None else self.cache_write)
            + usage.output_tokens * self.output
        )
        return dollars / 1_000_000


class PriceBook(Protocol):
    """Prices calls. ``deployment`` is the provider instance that answered, ``model`` its upstream model."""

    def cost(self, deployment: str, model: str, usage: Usage) -> float | None:
        """US dollars, or None when the model has no known price. Never raises, never does I/O."""
        ...
