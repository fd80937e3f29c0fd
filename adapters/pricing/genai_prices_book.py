"""``PriceBook`` over genai-prices, the maintained table of model prices (bundled data: no network).

Each deployment is priced as its provider: the provider id of its kind (``openai``, ``anthropic``) or,
when the instance points at another endpoint, that endpoint's URL (a local server matches no provider
and stays unpriced rather than priced as OpenAI). Lookups, hits and misses, are cached per
(deployment, model). A model whose token prices are flat (or tiered, below the first tier) is priced
here from the cached prices (~1 us); anything else (time-of-day prices, above a tier) by genai-prices
itself (~80 us). Standard prices are used (no service-tier or batch variants); only the token units
Switchboard reports are priced. The table (~0.5 s to import and load) is loaded on a thread started at
construction, so start-up does not wait for it; a call finishing before it is ready waits for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from contracts.pricing import Price
from contracts.usage import Usage

CACHE_LIMIT = 4096
_TOKEN_PRICES = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


@dataclass(frozen=True, slots=True)
class PricedAs:
    """How genai-prices should find a deployment's provider."""

    provider_id: str | None = None
    api_url: str | None = None


@dataclass(frozen=True, slots=True)
class _Found:
    provider: Any
    info: Any
    flat: Price | None
    """The base token prices, when they can be applied here."""
    tier_from: int | None
    """Input tokens above which a tier applies (then genai-prices prices the call)."""


class GenaiPricesBook:
    """Implements ``PriceBook`` with genai-prices' bundled data."""

    def __init__(self, deployments: dict[str, PricedAs]) -> None:
        self._deployments = deployments
        self._found: dict[tuple[str, str], _Found | None] = {}
        self._snapshot: Any = None
        self._usage_type: Any = None
        self._loaded = threading.Event()
        threading.Thread(target=self._load, name="genai-prices-load", daemon=True).start()

    def _load(self) -> None:
        try:
            from genai_prices import Usage as PricedUsage
            from genai_prices.data_snapshot import get_snapshot

            snapshot = get_snapshot()
            snapshot.providers  # noqa: B018 - the data module is imported on first access
            self._usage_type, self._snapshot = PricedUsage, snapshot
        finally:
            self._loaded.set()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    def cost(self, deployment: str, model: str, usage: Usage) -> float | None:
        key = (deployment, model)
        found = self._found.get(key, False)
        if found is False:
            found = self._find(deployment, model)
            if len(self._found) >= CACHE_LIMIT:
                self._found.clear()
            self._found[key] = found
        if found is None:
            return None
        if found.flat is not None and (found.tier_from is None or usage.input_tokens <= found.tier_from):
            return found.flat.cost(usage)
        try:
            priced = found.info.calc_price(
                self._usage_type(
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cache_read_tokens=usage.cached_tokens or None,
                    cache_write_tokens=usage.cache_write_tokens or None,
                ),
                found.provider,
            )
        except Exception:  # a model priced in units we do not report (audio, requests...)
            return None
        return float(priced.total_price)

    def _find(self, deployment: str, model: str) -> _Found | None:
        priced_as = self._deployments.get(deployment)
        if priced_as is None or not model:
            return None
        self._loaded.wait()
        if self._snapshot is None:  # the table failed to load
            return None
        try:
            provider, info = self._snapshot.find_provider_model(
                model, None, priced_as.provider_id, priced_as.api_url
            )
        except LookupError:
            return None
        flat, tier_from = _base_prices(info)
        return _Found(provider=provider, info=info, flat=flat, tier_from=tier_from)


def _base_prices(info: Any) -> tuple[Price | None, int | None]:
    """The model's standard token prices as a ``Price`` and where its first tier starts; (None, None)
    when its prices depend on something else (the time of day)."""
    from decimal import Decimal

    from genai_prices.types import ModelPrice, TieredPrices

    prices = info.prices
    if not isinstance(prices, ModelPrice):
        return None, None
    base: dict[str, float] = {}
    starts: list[int] = []
    for name in _TOKEN_PRICES:
        value = getattr(prices, name, None)
        if isinstance(value, TieredPrices):
            base[name] = float(value.base)
            starts.extend(tier.start for tier in value.tiers)
        elif isinstance(value, Decimal):
            base[name] = float(value)
        elif value is not None:
            return None, None
    if "input_mtok" not in base and "output_mtok" not in base:
        return None, None
    flat = Price(
        input=base.get("input_mtok", 0.0),
        output=base.get("output_mtok", 0.0),
        cache_read=base.get("cache_read_mtok"),
        cache_write=base.get("cache_write_mtok"),
    )
    return flat, min(starts) if starts else None
