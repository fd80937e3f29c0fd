"""Prices from settings (``SWITCHBOARD_PRICES``) over a price table: private models get their own price,
a deployment's model can be priced differently from what the table says.

``SWITCHBOARD_PRICES`` is ``;``-separated entries ``deployment[:model]=input,output[,cache_read[,cache_write]]``
in US dollars per million tokens, e.g. ``local=0.2,0.6; local:qwen3-coder=0.5,1.5,0.05``. A
``deployment:model`` entry wins over a ``deployment`` entry, which wins over the table.
"""

from __future__ import annotations

from contracts.pricing import Price, PriceBook
from contracts.usage import Usage


class PriceError(ValueError):
    """An entry of ``SWITCHBOARD_PRICES`` that does not parse."""


def parse_prices(text: str) -> dict[tuple[str, str | None], Price]:
    """``SWITCHBOARD_PRICES`` as {(deployment, model or None): price}. Raises ``PriceError``."""
    prices: dict[tuple[str, str | None], Price] = {}
    for raw in text.split(";"):
        entry = raw.strip()
        if not entry:
            continue
        target, sep, values = entry.partition("=")
        deployment, _, model = target.strip().partition(":")
        if not sep or not deployment.strip():
            raise PriceError(f"{entry!r} is not deployment[:model]=input,output[,cache_read[,cache_write]]")
        try:
            numbers = [float(v) for v in values.split(",")]
        except ValueError:
            raise PriceError(f"{entry!r}: prices must be numbers (US dollars per million tokens)") from None
        if not 2 <= len(numbers) <= 4 or any(n < 0 or n != n or n == float("inf") for n in numbers):
            raise PriceError(f"{entry!r}: give 2 to 4 prices >= 0 (input, output, cache_read, cache_write)")
        key = (deployment.strip().lower(), model.strip() or None)
        if key in prices:
            raise PriceError(f"{target.strip()!r} is priced twice")
        prices[key] = Price(
            input=numbers[0],
            output=numbers[1],
            cache_read=numbers[2] if len(numbers) > 2 else None,
            cache_write=numbers[3] if len(numbers) > 3 else None,
        )
    return prices


class ConfiguredPriceBook:
    """Implements ``PriceBook``: configured prices first, then the ``table`` (None: no table)."""

    def __init__(self, prices: dict[tuple[str, str | None], Price], table: PriceBook | None) -> None:
        self._prices = prices
        self._table = table

    def cost(self, deployment: str, model: str, usage: Usage) -> float | None:
        price = self._prices.get((deployment, model)) or self._prices.get((deployment, None))
        if price is not None:
            return price.cost(usage)
        return self._table.cost(deployment, model, usage) if self._table is not None else None
