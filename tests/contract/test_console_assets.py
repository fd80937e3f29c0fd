"""The front page, the console's files and ``/docs`` come from the service itself, each with its CSP."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

CONSOLE_FILES = ["/console/", "/console/console.css", "/console/js/app.js", "/console/js/playground.js"]


async def test_the_front_page_links_the_console_and_the_docs(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'href="/console/"' in page.text and 'href="/docs"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_console_files_are_served_with_a_same_origin_only_policy(client: AsyncTestClient[Any]) -> None:
    for path in CONSOLE_FILES:
        response = await client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self';" in csp and "connect-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    index = (await client.get("/console/")).text
    assert 'type="module" src="/console/js/app.js"' in index
    assert (await client.get("/console/js/app.js")).headers["content-type"].startswith("text/javascript")


async def test_console_sources_name_no_other_host(client: AsyncTestClient[Any]) -> None:
    for path in [*CONSOLE_FILES, "/console/js/api.js", "/console/js/dom.js", "/console/js/usage.js"]:
        text = (await client.get(path)).text
        hosts = re.findall(r"https?://[^\s\"'`]+", text)
        assert [h for h in hosts if not h.startswith("http://www.w3.org/2000/svg")] == [], path


async def test_docs_load_swagger_ui_from_the_service(client: AsyncTestClient[Any]) -> None:
    for path in ("/docs", "/docs/swagger"):
        page = await client.get(path)
        assert page.status_code == 200
        sources = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
        assert sources and all(source.startswith("/docs/assets/") for source in sources), sources
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        for source in sources:
            assert (await client.get(source)).status_code == 200, source


async def test_api_responses_keep_the_strict_policy(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/health/live")
    assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
