"""A live service and a real headless Chromium (the Debian ``chromium`` package, driven by Playwright).

Without ``/usr/bin/chromium`` (or ``chromium`` on PATH) the browser tests skip with the command that
installs it; Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.app import KEY_A_ADMIN, REPO, auth, live_server, make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "chromium is not installed: `apt-get install -y chromium` to run the browser tests",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.async_api")

SCREENSHOTS = REPO / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
BLOCKED_TERM = "launch codes"


@dataclass
class Console:
    """A page on the live service, with every request it made and every console error it logged."""

    base: str
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith((self.base + "/", "data:"))]

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def sign_in(self, key: str = KEY_A_ADMIN) -> None:
        """By keyboard: the key field has focus when the console opens; Enter submits."""
        await self.page.goto(self.base + "/console/")
        await self.page.wait_for_selector("#api-key:focus")
        await self.page.keyboard.type(key)
        await self.page.keyboard.press("Enter")
        await self.page.wait_for_selector("#playground")


async def tenant_policy_blocking(base: str, term: str) -> None:
    """Tenant A's ``default`` guardrail policy also blocks ``term`` (through the public API)."""
    policy = {
        "name": "default",
        "rules": [{"type": "blocked_terms", "terms": [term], "action": "block", "applies_to": "both"}],
    }
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN))
        response.raise_for_status()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[str]:
    # tokens 80 ms apart: a stream visibly unfolds, and the whole file still runs in seconds
    settings = make_settings(tmp_path, SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS="80")
    async with live_server(settings) as base:
        await tenant_policy_blocking(base, BLOCKED_TERM)
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def open_console(browser: Any, base: str, viewport: dict[str, int]) -> Console:
    context = await browser.new_context(viewport=viewport, service_workers="block")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    console = Console(base=base, page=page)
    page.on("request", lambda request: console.requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and console.errors.append(message.text))
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    return console


@pytest.fixture
async def desktop(browser: Any, service: str) -> Console:
    return await open_console(browser, service, DESKTOP)


@pytest.fixture
async def phone(browser: Any, service: str) -> Console:
    return await open_console(browser, service, PHONE)
