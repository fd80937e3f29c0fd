"""Fixtures: an in-process mock upstream (it speaks Anthropic's Messages API too) on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ops.mock_upstream import MockConfig, MockUpstream, running_mock


@pytest.fixture
async def mock() -> AsyncIterator[MockUpstream]:
    async with running_mock(config=MockConfig(timeout_sleep_s=5.0)) as upstream:
        yield upstream
