"""End-to-end fixtures: one real stack (two mock upstreams + the service) per module; see ``stack.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.stack import API_KEY, Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Both mocks and the service as subprocesses, started once per module and always stopped."""
    with running_stack(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    """An authenticated client of the service; both mocks' records are cleared first."""
    for url in (stack.mock_url, stack.slow_mock_url):
        httpx.post(f"{url}/_mock/reset", timeout=5).raise_for_status()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=stack.service_url, headers=headers, timeout=20) as http:
        yield http


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    """Attach the processes' output to a failing e2e test's report."""
    report = yield
    running: Stack | None = getattr(item, "funcargs", {}).get("stack")
    if report.failed and running is not None:
        report.sections.append(("e2e processes", running.logs()))
    return report
