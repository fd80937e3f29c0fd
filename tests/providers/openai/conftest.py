"""Fixtures: an in-process mock upstream on a free 127.0.0.1 port and OpenAI provider instances on it;
the ``agents_sdk`` engine over a fake ``LanguageModel``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from adapters.providers.openai import KIND
from contracts.providers import BuildContext, ProviderInstance
from ops.mock_upstream import MockConfig, MockUpstream, running_mock
from tests.providers.openai.fakes import FakeCatalog, FakeToolRegistry, settings_for
from tests.support.fake_models import FakeLanguageModel

if TYPE_CHECKING:
    from adapters.providers.openai.agents.runtime import AgentsSdkRuntime


@pytest.fixture
async def mock() -> AsyncIterator[MockUpstream]:
    async with running_mock(config=MockConfig(timeout_sleep_s=5.0)) as upstream:
        yield upstream


@pytest.fixture
def tools() -> FakeToolRegistry:
    return FakeToolRegistry()


@pytest.fixture(params=["responses", "chat_completions"])
def api_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def instance(
    mock: MockUpstream, api_mode: str, tools: FakeToolRegistry
) -> AsyncIterator[ProviderInstance]:
    built = KIND.build(
        BuildContext(name="openai", tools=tools, catalog=FakeCatalog()), settings_for(mock, api_mode)
    )
    yield built
    assert built.aclose is not None
    await built.aclose()


@pytest.fixture
def language_model() -> FakeLanguageModel:
    return FakeLanguageModel()


@pytest.fixture
def engine(tools: FakeToolRegistry) -> AgentsSdkRuntime:
    """The ``agents_sdk`` engine over the fake catalog and tool registry (imports ``agents``)."""
    from adapters.providers.openai.agents.runtime import AgentsSdkRuntime

    return AgentsSdkRuntime(FakeCatalog(), tools, max_turns=10)
