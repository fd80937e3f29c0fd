"""A live server with short connection limits, for the hostile inputs (tests/fuzz)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support.app import live_server, make_settings

LIMITS = {
    "SWITCHBOARD_HEADER_TIMEOUT_S": "0.6",
    "SWITCHBOARD_BODY_TIMEOUT_S": "0.6",
    "SWITCHBOARD_IDLE_TIMEOUT_S": "0.6",
    "SWITCHBOARD_MAX_UNAUTHENTICATED": "8",
    "SWITCHBOARD_MAX_HEADERS": "50",
    "SWITCHBOARD_MAX_HEADER_BYTES": "8192",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """Base URL of a live uvicorn server with the hardened protocol and short limits, shared by a module
    (tests that change the tenant's policy put the default back)."""
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    async with live_server(make_settings(tmp_path, **LIMITS)) as base:
        yield base
