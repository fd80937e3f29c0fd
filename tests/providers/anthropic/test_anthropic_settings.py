"""The Anthropic kind's settings: defaults, validation naming variables, plain ``ANTHROPIC_*`` defaults
read through the kind's ``env_defaults`` (no per-kind code in settings), a light import, restricted ids."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adapters.providers.anthropic import KIND, AnthropicSettings, validate_settings
from backend.settings import load_settings
from backend.wiring.providers import PROVIDER_KINDS, instance_values, plain_variables, provider_problems
from contracts.call_ids import PREFIX, original, restricted
from tests.support.app import REPO


def test_the_kind_is_registered_with_its_plain_variables() -> None:
    assert PROVIDER_KINDS["anthropic"] == "adapters.providers.anthropic"
    assert {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY"} <= plain_variables()


def test_defaults() -> None:
    settings = AnthropicSettings()
    assert (settings.base_url, settings.anthropic_version, settings.max_tokens) == (
        "https://api.anthropic.com",
        "2023-06-01",
        4096,
    )
    assert settings.beta_header() == "" and AnthropicSettings(betas=" a, ,b ").beta_header() == "a,b"


def test_anthropic_api_key_is_the_default_of_the_instance_named_anthropic() -> None:
    env = {"SWITCHBOARD_PROVIDERS": "anthropic,claude", "ANTHROPIC_API_KEY": "sk-ant-plain"}
    env["SWITCHBOARD_PROVIDER_CLAUDE_KIND"] = "anthropic"
    settings = load_settings(env, dotenv=None).providers
    assert instance_values(settings, "anthropic", KIND)["api_key"] == "sk-ant-plain"
    assert "api_key" not in instance_values(settings, "claude", KIND)  # only the instance named like the kind
    problems = provider_problems(settings)
    assert problems == [
        "SWITCHBOARD_PROVIDER_CLAUDE_API_KEY is not set: provider 'claude' needs an API key for "
        "api.anthropic.com (only a local base URL may go without one)"
    ]


def test_an_instance_variable_wins_over_the_plain_one() -> None:
    env = {
        "SWITCHBOARD_PROVIDERS": "anthropic",
        "ANTHROPIC_API_KEY": "sk-ant-plain",
        "SWITCHBOARD_PROVIDER_ANTHROPIC_API_KEY": "sk-ant-own",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
    }
    values = instance_values(load_settings(env, dotenv=None).providers, "anthropic", KIND)
    assert (values["api_key"], values["base_url"]) == ("sk-ant-own", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"base_url": "api.anthropic.com"}, "SWITCHBOARD_PROVIDER_A_BASE_URL must be an http(s) URL"),
        (
            {"base_url": "https://api.anthropic.com/v1"},
            "SWITCHBOARD_PROVIDER_A_BASE_URL must not end with /v1",
        ),
        ({"api_key": None}, "SWITCHBOARD_PROVIDER_A_API_KEY is not set"),
        ({"model": " "}, "SWITCHBOARD_PROVIDER_A_MODEL must not be empty"),
        ({"anthropic_version": ""}, "SWITCHBOARD_PROVIDER_A_ANTHROPIC_VERSION must not be empty"),
        ({"max_tokens": 0}, "SWITCHBOARD_PROVIDER_A_MAX_TOKENS must be >= 1"),
        ({"timeout_s": 0}, "SWITCHBOARD_PROVIDER_A_TIMEOUT_S must be > 0"),
        ({"stream_idle_timeout_s": -1}, "SWITCHBOARD_PROVIDER_A_STREAM_IDLE_TIMEOUT_S must be > 0"),
        ({"max_connections": 0}, "SWITCHBOARD_PROVIDER_A_MAX_CONNECTIONS must be >= 1"),
    ],
)
def test_each_problem_names_its_variable(changes: dict[str, object], variable: str) -> None:
    values: dict[str, object] = {"api_key": "sk-ant-secret-value"}
    values.update(changes)
    [problem] = validate_settings("a", AnthropicSettings(**values))  # type: ignore[arg-type]
    assert problem.startswith(variable) and "sk-ant-secret-value" not in problem


def test_a_local_base_url_needs_no_key() -> None:
    assert validate_settings("mock", AnthropicSettings(base_url="http://127.0.0.1:8100")) == []


def test_a_wrongly_typed_variable_is_named() -> None:
    env = {
        "SWITCHBOARD_PROVIDERS": "anthropic",
        "ANTHROPIC_API_KEY": "k",
        "SWITCHBOARD_PROVIDER_ANTHROPIC_MAX_TOKENS": "many",
    }
    [problem] = provider_problems(load_settings(env, dotenv=None).providers)
    assert problem.startswith("provider 'anthropic': SWITCHBOARD_PROVIDER_ANTHROPIC_MAX_TOKENS")


def test_building_an_instance_imports_no_vendor_sdk() -> None:
    code = (
        "import sys; from adapters.providers.anthropic import KIND, AnthropicSettings;"
        "from contracts.providers import BuildContext;"
        "KIND.build(BuildContext(name='anthropic', tools=None, catalog=None), AnthropicSettings(api_key='k'));"
        "print(sorted(m for m in ('anthropic', 'openai', 'agents', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "call_id", ["call_abc-123", "toolu_01A", "fc:1/2.3", "ünïcode id", f"{PREFIX}looks_ours", "a" * 80]
)
def test_call_ids_map_both_ways(call_id: str) -> None:
    wire = restricted(call_id)
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in wire)
    assert original(wire) == call_id
    assert restricted(call_id) == wire  # deterministic
    if (
        call_id.replace("_", "").replace("-", "").isalnum()
        and call_id.isascii()
        and not call_id.startswith(PREFIX)
    ):
        assert wire == call_id  # valid ids travel unchanged


def test_an_id_that_only_looks_encoded_comes_back_unchanged() -> None:
    assert original(f"{PREFIX}!!") == f"{PREFIX}!!"
