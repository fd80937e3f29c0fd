"""``X_FILE=/path`` sets ``X`` from a file (secrets mounted by Kubernetes or compose), through the one
settings loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.settings import ConfigError, load_settings


def _secret(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


def test_a_file_variable_sets_the_variable_from_the_stripped_file_content(tmp_path: Path) -> None:
    env = {
        "SWITCHBOARD_API_KEYS_FILE": _secret(tmp_path, "keys", "sk-1:acme:chat\n"),
        "DATABASE_URL_FILE": _secret(tmp_path, "db", "  postgresql+asyncpg://u:p@db/sb  \n"),
        "SWITCHBOARD_PORT_FILE": _secret(tmp_path, "port", "9000\n"),
    }
    settings = load_settings(env, dotenv=None)
    assert settings.auth.api_keys == "sk-1:acme:chat"
    assert settings.stores.database_url == "postgresql+asyncpg://u:p@db/sb"
    assert settings.server.port == 9000


def test_provider_keys_and_instance_fields_can_come_from_files(tmp_path: Path) -> None:
    env = {
        "SWITCHBOARD_PROVIDERS": "scripted,openai",
        "OPENAI_API_KEY_FILE": _secret(tmp_path, "openai", "sk-from-file\n"),
        "SWITCHBOARD_PROVIDER_SCRIPTED_MODEL_FILE": _secret(tmp_path, "model", "scripted-9\n"),
    }
    providers = load_settings(env, dotenv=None).providers
    assert providers.plain_env["OPENAI_API_KEY"] == "sk-from-file"
    assert providers.instances["scripted"] == {"model": "scripted-9"}  # no stray "model_file" field


def test_an_unreadable_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    with pytest.raises(ConfigError, match=r"^OPENAI_API_KEY_FILE: cannot read .*nope.*No such file"):
        load_settings({"OPENAI_API_KEY_FILE": missing}, dotenv=None)


def test_setting_both_the_variable_and_its_file_is_an_error(tmp_path: Path) -> None:
    env = {"SWITCHBOARD_API_KEYS": "k:t:chat", "SWITCHBOARD_API_KEYS_FILE": _secret(tmp_path, "k", "x")}
    with pytest.raises(ConfigError, match="SWITCHBOARD_API_KEYS and SWITCHBOARD_API_KEYS_FILE are both set"):
        load_settings(env, dotenv=None)


def test_a_value_from_a_file_is_validated_like_any_other(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SWITCHBOARD_PORT"):
        load_settings({"SWITCHBOARD_PORT_FILE": _secret(tmp_path, "port", "eighty")}, dotenv=None)


def test_variables_that_end_in_file_themselves_are_not_read_as_files(tmp_path: Path) -> None:
    agents = _secret(tmp_path, "agents.toml", "")
    settings = load_settings({"SWITCHBOARD_AGENTS_FILE": agents}, dotenv=None)
    assert settings.chat.agents_file == agents  # the path itself, not the (empty) content
    nested = load_settings(
        {"SWITCHBOARD_AGENTS_FILE_FILE": _secret(tmp_path, "path", "config/other.toml\n")}, dotenv=None
    )
    assert nested.chat.agents_file == "config/other.toml"


def test_the_drain_grace_defaults_to_30_seconds_and_is_bounded() -> None:
    assert load_settings({}, dotenv=None).server.drain_grace_s == 30.0
    assert load_settings({"SWITCHBOARD_DRAIN_GRACE_S": "2.5"}, dotenv=None).server.drain_grace_s == 2.5
    with pytest.raises(ConfigError, match="SWITCHBOARD_DRAIN_GRACE_S"):
        load_settings({"SWITCHBOARD_DRAIN_GRACE_S": "-1"}, dotenv=None)
