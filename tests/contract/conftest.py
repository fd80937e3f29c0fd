from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.support.app import app_client, make_settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    """The real app on embedded defaults (SQLite in tmp_path, offline provider)."""
    async with app_client(make_settings(tmp_path)) as c:
        yield c
