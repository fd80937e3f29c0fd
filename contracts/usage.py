"""Token accounting, neutral across providers."""

from __future__ import annotations

from contracts.base import Struct


class Usage(Struct, frozen=True, kw_only=True):
    """Tokens spent by one model call or a whole turn.

    ``cached_tokens`` is the part of ``input_tokens`` read from the provider's prompt cache;
    ``cache_write_tokens`` the part of ``input_tokens`` written to it (priced differently by some
    providers); ``reasoning_tokens`` the part of ``output_tokens`` spent on hidden reasoning.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0

    def plus(self, other: Usage) -> Usage:
        """The sum of two usages (a turn with several model calls adds them up)."""
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )
