"""Misspelt variables, variables of instances that are not enabled, providers listed twice, and API keys
given twice or with spaces: each is an error naming the variable (and the closest valid name), or a
warning where an error would break a legitimate use."""

from __future__ import annotations

import pytest

from backend.settings import ConfigError, load_settings
from backend.wiring.keys import parse_keys


def load(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(env, dotenv=None)


def test_a_misspelt_variable_is_an_error_naming_the_closest_one() -> None:
    with pytest.raises(ConfigError) as error:
        load(SWITCHBOARD_DEFAULT_PROVDER="scripted")
    assert "SWITCHBOARD_DEFAULT_PROVDER" in str(error.value)
    assert "did you mean SWITCHBOARD_DEFAULT_PROVIDER?" in str(error.value)


def test_settings_of_an_instance_close_to_an_enabled_one_are_an_error() -> None:
    with pytest.raises(ConfigError) as error:
        load(SWITCHBOARD_PROVIDERS="openai", SWITCHBOARD_PROVIDER_OPENIA_BASE_URL="http://x")
    assert "did you mean SWITCHBOARD_PROVIDER_OPENAI_BASE_URL?" in str(error.value)


def test_settings_of_a_provider_switched_off_are_only_a_warning() -> None:
    settings = load(SWITCHBOARD_PROVIDERS="scripted", SWITCHBOARD_PROVIDER_LOCAL_BASE_URL="http://x")
    [warning] = settings.warnings
    assert "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL" in warning and "not in SWITCHBOARD_PROVIDERS" in warning


def test_unknown_unrelated_variables_warn_and_open_families_pass() -> None:
    settings = load(
        SWITCHBOARD_BUILD_SHA="abc",
        SWITCHBOARD_ROUTE_FAST="scripted:scripted-1",
        SWITCHBOARD_ROUTING_STRATEGY="weighted",
        SWITCHBOARD_ROUTES_FILE="routes.toml",
        SWITCHBOARD_DEFAULT_ROUTE_FALLBACK="true",
        SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS="0",
    )
    assert settings.warnings == ("SWITCHBOARD_BUILD_SHA is not a Switchboard variable; it is ignored",)


def test_a_provider_listed_twice_is_an_error() -> None:
    with pytest.raises(ConfigError, match="lists 'scripted' 2 times"):
        load(SWITCHBOARD_PROVIDERS="scripted,openai,scripted")


def test_a_secret_given_twice_is_an_error_that_does_not_show_it() -> None:
    with pytest.raises(ConfigError) as error:
        parse_keys("dup:acme:chat,dup:other:admin")
    assert "entry #2" in str(error.value) and "entry #1" in str(error.value)
    assert "dup" not in str(error.value).replace("duplicate", "")
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # sha256("test")
    with pytest.raises(ConfigError, match="the same secret as entry #1"):
        parse_keys(f"test:acme:chat,sha256={digest}:other:read")


@pytest.mark.parametrize("raw", ["sk-1 :acme:chat", "sk-1:acme:chat,\t sk-2\t :acme:chat"])
def test_a_secret_with_spaces_around_it_is_an_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="spaces around it"):
        parse_keys(raw)
