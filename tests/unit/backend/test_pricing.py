"""Prices: ``SWITCHBOARD_PRICES`` parsing and precedence, cache reads and writes priced apart, the
genai-prices table for vendor deployments (and not for a local endpoint), and the ledger storing cost."""

from __future__ import annotations

import pytest

from adapters.pricing.genai_prices_book import GenaiPricesBook, PricedAs
from backend.services.pricing import ConfiguredPriceBook, PriceError, parse_prices
from backend.settings import ConfigError, load_settings
from backend.wiring.pricing import priced_deployments
from backend.wiring.table import compile_graph
from contracts.pricing import Price
from contracts.usage import Usage

CACHED = Usage(input_tokens=1000, output_tokens=100, total_tokens=1100, cached_tokens=200)
CACHE_WRITE = Usage(
    input_tokens=1000, output_tokens=100, total_tokens=1100, cached_tokens=300, cache_write_tokens=200
)


def test_cache_reads_and_writes_are_parts_of_input_priced_at_their_own_rates() -> None:
    price = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    assert price.cost(CACHE_WRITE) == pytest.approx((500 * 3 + 300 * 0.3 + 200 * 3.75 + 100 * 15) / 1e6)
    assert Price(input=2.0, output=8.0).cost(CACHED) == pytest.approx((1000 * 2 + 100 * 8) / 1e6)


def test_price_entries_parse_and_a_model_entry_wins_over_its_deployment() -> None:
    prices = parse_prices(" local=0.2,0.6 ; local:big-model=1,3,0.1,1.25;")
    assert prices == {
        ("local", None): Price(input=0.2, output=0.6),
        ("local", "big-model"): Price(input=1.0, output=3.0, cache_read=0.1, cache_write=1.25),
    }
    book = ConfiguredPriceBook(prices, None)
    assert book.cost("local", "big-model", CACHED) == pytest.approx((800 * 1 + 200 * 0.1 + 100 * 3) / 1e6)
    assert book.cost("local", "other", CACHED) == pytest.approx((1000 * 0.2 + 100 * 0.6) / 1e6)
    assert book.cost("openai", "gpt-4o", CACHED) is None


@pytest.mark.parametrize(
    "text",
    [
        "local",
        "local=1",
        "local=1,2,3,4,5",
        "local=a,b",
        "local=-1,2",
        "=1,2",
        "local=1,2;local=3,4",
        "x=nan,1",
    ],
)
def test_a_bad_price_entry_is_refused(text: str) -> None:
    with pytest.raises(PriceError):
        parse_prices(text)


def test_bad_prices_stop_start_up_with_one_line_naming_the_variable() -> None:
    for env, expected in [
        ({"SWITCHBOARD_PRICES": "scripted=1"}, "SWITCHBOARD_PRICES: 'scripted=1'"),
        ({"SWITCHBOARD_PRICES": "scriptd=1,2"}, "SWITCHBOARD_PRICES prices 'scriptd', which is not in"),
        ({"SWITCHBOARD_PRICE_TABLE": "litellm"}, "SWITCHBOARD_PRICE_TABLE:"),
    ]:
        with pytest.raises(ConfigError) as raised:
            compile_graph(load_settings({"SWITCHBOARD_API_KEYS": "k:t:chat", **env}, dotenv=None))
        assert str(raised.value).startswith(expected) and "\n" not in str(raised.value)


def test_vendor_instances_are_priced_as_the_vendor_and_others_by_their_endpoint() -> None:
    settings = load_settings(
        {
            "SWITCHBOARD_PROVIDERS": "openai,anthropic,local,scripted",
            "OPENAI_API_KEY": "sk-test",
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "SWITCHBOARD_PROVIDER_LOCAL_KIND": "openai",
            "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL": "http://127.0.0.1:8001/v1",
        },
        dotenv=None,
    )
    assert priced_deployments(settings.providers) == {
        "openai": ("openai", None),
        "anthropic": ("anthropic", None),
        "local": (None, "http://127.0.0.1:8001/v1"),
    }


@pytest.fixture(scope="module")
def table() -> GenaiPricesBook:
    book = GenaiPricesBook(
        {
            "openai": PricedAs(provider_id="openai"),
            "anthropic": PricedAs(provider_id="anthropic"),
            "local": PricedAs(api_url="http://127.0.0.1:8001/v1"),
        }
    )
    assert book.wait_loaded(timeout=60)
    return book


def test_the_table_prices_cached_input_as_genai_prices_does(table: GenaiPricesBook) -> None:
    from genai_prices import Usage as PricedUsage
    from genai_prices import calc_price

    for deployment, model, usage in [
        ("openai", "gpt-4o", CACHED),
        ("openai", "gpt-4.1-mini", CACHED),
        ("anthropic", "claude-sonnet-4-5", CACHE_WRITE),
        (
            "anthropic",
            "claude-sonnet-4-5",
            Usage(input_tokens=300_000, output_tokens=10, total_tokens=300_010),
        ),
    ]:
        expected = calc_price(
            PricedUsage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cached_tokens or None,
                cache_write_tokens=usage.cache_write_tokens or None,
            ),
            model_ref=model,
            provider_id=deployment,
        ).total_price
        assert table.cost(deployment, model, usage) == pytest.approx(float(expected), rel=1e-9), model
    assert table.cost("openai", "gpt-4o", CACHED) == pytest.approx((800 * 2.5 + 200 * 1.25 + 100 * 10) / 1e6)


def test_unknown_models_and_local_endpoints_stay_unpriced(table: GenaiPricesBook) -> None:
    assert table.cost("openai", "no-such-model-xyz", CACHED) is None
    assert table.cost("local", "gpt-4o", CACHED) is None  # a local server is not billed as OpenAI
    assert table.cost("scripted", "scripted-1", CACHED) is None


def test_budgets_over_providers_nothing_prices_are_warned_about_at_start_up() -> None:
    from structlog.testing import capture_logs

    from adapters.limits.memory_budgets import MemoryBudgetStore
    from backend.telemetry.call_log import LogCallSink
    from backend.wiring.factories import budgets

    def warnings(**env: str) -> list[str]:
        settings = load_settings({"SWITCHBOARD_BUDGET_KEY_DAILY_USD": "1", **env}, dotenv=None)
        with capture_logs() as logs:
            budgets(
                MemoryBudgetStore(),
                settings.budgets,
                settings.limits,
                LogCallSink(),
                settings.pricing,
                settings.providers,
            )
        return [entry["event"] for entry in logs]

    assert warnings() == ["budgets.nothing_priced"]  # the offline provider has no price
    assert warnings(SWITCHBOARD_PRICES="scripted=1,2") == []
