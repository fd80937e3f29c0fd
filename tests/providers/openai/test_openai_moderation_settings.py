"""Moderation over the mock, settings validation, the descriptor, and import laziness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapters.providers.openai import KIND, OpenAISettings
from contracts.agents import ProviderCapabilities
from contracts.errors import ProviderUnavailable
from contracts.providers import BuildContext, ProviderInstance
from ops.mock_upstream import MockUpstream
from tests.providers.openai.fakes import API_KEY, FakeCatalog, FakeToolRegistry, settings_for

REPO = Path(__file__).resolve().parents[3]


async def test_moderation_flags_violent_text(instance: ProviderInstance, mock: MockUpstream) -> None:
    assert instance.moderation is not None
    flagged, scores = await instance.moderation.moderate("I will attack the castle")
    assert flagged
    assert scores["violence"] == pytest.approx(0.95)
    assert scores["hate/threatening"] == 0.0
    assert mock.requests[0].body == {"model": "omni-moderation-latest", "input": "I will attack the castle"}


async def test_moderation_passes_harmless_text(instance: ProviderInstance) -> None:
    assert instance.moderation is not None
    flagged, scores = await instance.moderation.moderate("What a lovely day")
    assert not flagged
    assert max(scores.values()) == 0.0


async def test_moderation_failure_is_provider_unavailable(mock: MockUpstream) -> None:
    settings = settings_for(mock, "responses", base_url=f"{mock.url}/nowhere/v1", max_retries=1)
    built = KIND.build(BuildContext(name="openai", tools=FakeToolRegistry(), catalog=FakeCatalog()), settings)
    assert built.moderation is not None and built.aclose is not None
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await built.moderation.moderate("hello")
    finally:
        await built.aclose()
    assert (caught.value.upstream_status, caught.value.retryable) == (404, False)
    assert len(mock.requests) == 0  # the 404 came from the router: nothing recorded, nothing retried


def test_descriptor_declares_every_capability(instance: ProviderInstance) -> None:
    descriptor = instance.descriptor
    assert (descriptor.name, descriptor.kind, descriptor.offline) == ("openai", "openai", False)
    assert descriptor.default_model == "gpt-4.1-mini"
    assert descriptor.capabilities == ProviderCapabilities(
        streaming=True,
        tools=True,
        handoffs=True,
        structured_output=True,
        realtime=True,
        moderation=True,
        images=True,
        embeddings=True,
    )
    assert instance.realtime is not None


def test_kind_reads_openai_env_defaults() -> None:
    assert KIND.name == "openai"
    assert KIND.env_defaults == {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}
    settings = KIND.settings_from({"api_mode": "chat_completions", "timeout_s": "3", "tracing": "false"})
    assert (settings.api_mode, settings.timeout_s, settings.tracing) == ("chat_completions", 3.0, False)
    assert settings.agent_engine == "tool_loop"
    assert settings.base_url == "https://api.openai.com/v1"


def test_missing_key_for_openai_names_both_variables() -> None:
    [problem] = KIND.validate("openai", OpenAISettings())
    assert "SWITCHBOARD_PROVIDER_OPENAI_API_KEY" in problem
    assert "OPENAI_API_KEY" in problem


def test_missing_key_for_another_instance_names_its_variable() -> None:
    [problem] = KIND.validate("cloud", OpenAISettings(base_url="https://llm.example.com/v1"))
    assert problem.startswith("SWITCHBOARD_PROVIDER_CLOUD_API_KEY is not set")
    assert "(or OPENAI_API_KEY)" not in problem


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:11434/v1",
        "http://localhost:8000/v1",
        "http://[::1]:8000/v1",
        "http://gpu-box.local:8000/v1",
        "http://192.168.1.20:8000/v1",
        "http://10.0.0.5/v1",
    ],
)
def test_local_base_url_needs_no_key(base_url: str) -> None:
    assert KIND.validate("local", OpenAISettings(base_url=base_url, api_mode="chat_completions")) == []


def test_bad_base_url_and_api_mode_are_reported() -> None:
    bad = OpenAISettings(api_key=API_KEY, base_url="ftp://x", api_mode="bogus")  # type: ignore[arg-type]
    problems = KIND.validate("local", bad)
    assert any(p.startswith("SWITCHBOARD_PROVIDER_LOCAL_BASE_URL") for p in problems)
    assert any(p.startswith("SWITCHBOARD_PROVIDER_LOCAL_API_MODE") for p in problems)
    assert all(API_KEY not in p for p in problems)


def test_numbers_out_of_range_are_reported() -> None:
    bad = OpenAISettings(api_key=API_KEY, timeout_s=0, connect_timeout_s=-1, max_connections=0)
    problems = " ".join(KIND.validate("openai", bad))
    for variable in ("TIMEOUT_S", "CONNECT_TIMEOUT_S", "MAX_CONNECTIONS"):
        assert f"SWITCHBOARD_PROVIDER_OPENAI_{variable}" in problems


def test_removed_settings_name_their_replacement() -> None:
    from backend.settings import load_settings
    from backend.wiring.providers import provider_problems

    settings = load_settings(
        {
            "SWITCHBOARD_PROVIDERS": "openai",
            "OPENAI_API_KEY": API_KEY,
            "SWITCHBOARD_PROVIDER_OPENAI_MAX_RETRIES": "3",
        },
        dotenv=None,
    )
    [problem] = provider_problems(settings.providers)
    assert problem.startswith("SWITCHBOARD_PROVIDER_OPENAI_MAX_RETRIES is no longer read")
    assert "SWITCHBOARD_ROUTING_RETRIES" in problem


def test_importing_the_kind_does_not_import_the_sdks() -> None:
    code = (
        "import sys, adapters.providers.openai as kind; "
        "assert kind.KIND.name == 'openai'; "
        "print(sorted(m for m in ('agents', 'openai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
