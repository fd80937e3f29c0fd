"""How each enabled provider instance is priced, and what is wrong with ``SWITCHBOARD_PRICES``."""

from __future__ import annotations

from backend.services.pricing import PriceError, parse_prices
from backend.settings import PricingSettings, ProviderSettings
from backend.wiring.providers import PROVIDER_KINDS, instance_values, load_kind

TABLE_KINDS = ("openai", "anthropic")
"""Kinds whose instances the price table knows (as the vendor, or by the endpoint they point at)."""


def priced_deployments(providers: ProviderSettings) -> dict[str, tuple[str | None, str | None]]:
    """{instance: (provider id, endpoint URL)}: the vendor when the instance uses the kind's own
    endpoint, else its endpoint (which the table may recognise, e.g. a known gateway, or not)."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for name in providers.enabled:
        kind = providers.kind_of(name)
        if kind not in TABLE_KINDS or kind not in PROVIDER_KINDS:
            continue
        base_url = instance_values(providers, name, load_kind(kind)).get("base_url")
        found[name] = (None, base_url) if base_url else (kind, None)
    return found


def pricing_problems(pricing: PricingSettings, providers: ProviderSettings) -> list[str]:
    try:
        prices = parse_prices(pricing.prices)
    except PriceError as exc:
        return [f"SWITCHBOARD_PRICES: {exc}"]
    return [
        f"SWITCHBOARD_PRICES prices {deployment!r}, which is not in SWITCHBOARD_PROVIDERS "
        f"({', '.join(providers.enabled)})"
        for deployment in sorted({d for d, _ in prices})
        if deployment not in providers.enabled
    ]
