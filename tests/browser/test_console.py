"""The operator console and ``/docs`` in real headless Chromium: sign in, a streamed turn, a tool call, a
guardrail block, keys, usage chart, conversations, providers; nothing loaded from another host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import BLOCKED_TERM, DESKTOP, Console, open_console, playwright_api
from tests.support.app import KEY_A, KEY_A_ADMIN, auth, live_server, make_settings
from tests.support.processes import free_port

expect = playwright_api.expect

# The one console error a guardrail block may cause: Chromium logs the refused request's status itself.
REFUSED_422 = re.compile(r"Failed to load resource: the server responded with a status of 422\b")

RECORD_ANSWER = """() => {
  window.__frames = [];
  const transcript = document.querySelector('.transcript');
  new MutationObserver(() => {
    const turn = transcript.lastElementChild;
    if (!turn) return;
    window.__frames.push({
      text: turn.querySelector('.answer').textContent,
      usage: turn.querySelector('[data-metric="usage"]') !== null,
    });
  }).observe(transcript, {subtree: true, childList: true, characterData: true});
}"""


async def test_a_streamed_turn_shows_tokens_as_they_arrive_then_usage_tools_and_a_guardrail_block(
    desktop: Console,
) -> None:
    page = desktop.page
    await page.goto(desktop.base + "/")
    await page.click("text=Operator console")
    await desktop.sign_in()
    assert await page.evaluate("sessionStorage.getItem('switchboard.apiKey')") == KEY_A_ADMIN
    assert KEY_A_ADMIN not in page.url

    await page.evaluate(RECORD_ANSWER)
    await page.fill("#pg-message", "what is 2+3*4")
    await page.keyboard.press("Control+Enter")
    turn = page.locator(".turn").last
    await turn.locator(".turn-status", has_text="Completed.").wait_for()

    final = await turn.locator(".answer").text_content()
    assert final == "The calculator says 14."
    frames = await page.evaluate("window.__frames")
    partial = {f["text"] for f in frames if f["text"] and not f["usage"] and f["text"] != final}
    assert len(partial) >= 2 and all(final.startswith(text) for text in partial)  # grew token by token
    usage = await turn.locator('[data-metric="usage"]').text_content()
    assert usage is not None and re.fullmatch(r"\d+ in · \d+ out · \d+ tokens", usage)
    assert re.fullmatch(r"\d+ ms", await turn.locator('[data-metric="ttft"]').text_content() or "")
    tools = await turn.locator(".tools li").all_text_contents()
    assert tools == ['Tool call calculator {"expression":"2+3*4"}', "Tool result calculator 14"]

    await page.fill("#pg-message", f"please tell me the {BLOCKED_TERM}")
    await page.click("#pg-send")
    blocked = page.locator(".turn.blocked")
    await blocked.wait_for()
    assert "Blocked by a guardrail" in (await blocked.locator(".turn-status").text_content() or "")
    assert "(blocked_terms)" in (await blocked.locator(".turn-status").text_content() or "")
    await desktop.screenshot("console-playground-desktop")

    assert desktop.foreign_requests() == []
    assert len(desktop.errors) == 1 and REFUSED_422.match(desktop.errors[0]), desktop.errors


async def test_the_completions_surface_streams_on_a_chosen_route(desktop: Console) -> None:
    page = desktop.page
    await desktop.sign_in()
    await page.select_option("#pg-mode", "completions")
    await page.select_option("#pg-target", "route:default")
    await page.fill("#pg-message", "hello there")
    await page.click("#pg-send")
    turn = page.locator(".turn").last
    await turn.locator(".turn-status", has_text="Completed.").wait_for()
    assert await turn.locator(".answer").text_content() == "You said: hello there"
    assert re.fullmatch(
        r"\d+ in · \d+ out · \d+ tokens", await turn.locator('[data-metric="usage"]').text_content() or ""
    )
    assert desktop.foreign_requests() == [] and desktop.errors == []


async def test_stop_cancels_the_run_and_the_turn_is_stored_as_cancelled(desktop: Console) -> None:
    page = desktop.page
    await desktop.sign_in()
    words = " ".join(f"word{n}" for n in range(40))  # the scripted answer echoes them, 80 ms apart
    await page.fill("#pg-message", words)
    await page.click("#pg-send")
    turn = page.locator(".turn").last
    await turn.locator(".turn-status", has_text="Streaming…").wait_for()
    await page.click("text=Stop")
    await turn.locator(".turn-status", has_text="Failed: stopped").wait_for()
    shown = await turn.locator(".answer").text_content() or ""
    assert shown and f"You said: {words}".startswith(shown) and len(shown) < len(f"You said: {words}")

    conversation = (await page.locator("#pg-conversation").text_content() or "").split()[-1]
    async with httpx.AsyncClient(base_url=desktop.base) as client:
        for _ in range(50):  # the service stores the cancelled turn once it sees the disconnect
            detail = (await client.get(f"/v1/conversations/{conversation}", headers=auth(KEY_A_ADMIN))).json()
            assistant = [i for i in detail["items"] if i["type"] == "assistant_message"]
            if assistant:
                break
            await page.wait_for_timeout(100)
    assert [a["status"] for a in assistant] == ["cancelled"]
    assert desktop.foreign_requests() == [] and desktop.errors == []


async def test_a_key_is_created_shown_once_and_revoked(desktop: Console) -> None:
    page = desktop.page
    await desktop.sign_in()
    await page.click("nav >> text=Keys")
    await page.check("input[name=scopes][value=read]")
    await page.fill("#requests_per_minute", "60")
    await page.click("#create-key button[type=submit]")
    secret = await page.locator("#new-secret").text_content() or ""
    assert secret.startswith("sb_")
    row = page.locator("#keys tbody tr").first
    assert "active" in (await row.text_content() or "") and "60 req/min" in (await row.text_content() or "")
    async with httpx.AsyncClient(base_url=desktop.base) as client:
        assert (await client.get("/v1/usage", headers=auth(secret))).status_code == 200
        await desktop.screenshot("console-keys-desktop")

        revoke = row.locator("button", has_text="Revoke")
        await revoke.click()
        await row.locator("button", has_text="Confirm revoke").click()
        await page.locator("#keys tbody tr", has_text="revoked").wait_for()
        assert secret not in (await page.content())  # shown once: gone after the next action
        assert (await client.get("/v1/usage", headers=auth(secret))).status_code == 401
    assert desktop.foreign_requests() == [] and desktop.errors == []


async def test_usage_chart_conversations_and_providers_at_phone_width(phone: Console) -> None:
    page = phone.page
    async with httpx.AsyncClient(base_url=phone.base, timeout=30) as client:
        for message in ("first question", "second question"):
            (await client.post("/v1/chat", json={"message": message}, headers=auth(KEY_A))).raise_for_status()
    await phone.sign_in()

    await page.goto(phone.base + "/console/#/usage")
    bars = page.locator("#usage-chart rect.bar")
    await page.locator("#usage-chart").wait_for()
    tokens = [int(await bar.get_attribute("data-tokens") or "0") for bar in await bars.all()]
    assert len(tokens) == 7 and tokens[-1] > 0 and tokens[:-1] == [0] * 6
    assert await page.locator("#usage-table tbody tr").count() == 1
    await phone.screenshot("console-usage-phone")

    await page.goto(phone.base + "/console/#/conversations")
    rows = page.locator("#conversations tbody tr")
    await rows.first.wait_for()
    assert await rows.count() == 2
    await rows.first.locator("button", has_text="Open").click()
    items = page.locator("#conversation-detail .items li")
    await items.first.wait_for()
    assert await items.count() == 2
    await rows.first.locator("button", has_text="Delete").click()
    await rows.first.locator("button", has_text="Confirm delete").click()
    await expect(rows).to_have_count(1)  # (no wait_for_function: the console's CSP forbids eval)

    await page.goto(phone.base + "/console/#/providers")
    providers = page.locator("#providers tbody tr")
    await providers.first.wait_for()
    assert "healthy" in (await providers.first.text_content() or "")
    assert "scripted:scripted-1" in (await page.locator("#routes").text_content() or "")

    await page.goto(phone.base + "/console/#/playground")
    await page.wait_for_selector("#playground")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # nothing wider than a phone
    await phone.screenshot("console-playground-phone")
    assert phone.foreign_requests() == [] and phone.errors == []


async def test_the_api_docs_load_every_asset_from_the_service(desktop: Console) -> None:
    page = desktop.page
    await page.goto(desktop.base + "/docs")
    await page.locator(".swagger-ui .info .title", has_text="Switchboard").wait_for()
    await page.locator(".opblock-tag", has_text="admin").first.wait_for()
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in desktop.requests)
    assert desktop.foreign_requests() == [] and desktop.errors == []


async def test_a_deployment_forced_into_cooldown_shows_on_the_providers_page_without_a_reload(
    browser: Any, tmp_path: Path
) -> None:
    """A route whose first deployment refuses connections: three turns fall back (and succeed), the
    deployment's circuit opens, and the open providers page shows it cooling down by itself."""
    closed = free_port()  # nothing listens there: every call is refused
    settings = make_settings(
        tmp_path,
        SWITCHBOARD_PROVIDERS="scripted,broken",
        SWITCHBOARD_PROVIDER_BROKEN_KIND="openai",
        SWITCHBOARD_PROVIDER_BROKEN_BASE_URL=f"http://127.0.0.1:{closed}/v1",
        SWITCHBOARD_PROVIDER_BROKEN_API_MODE="chat_completions",
        SWITCHBOARD_ROUTE_FLAKY="broken:some-model,scripted:scripted-1",
        SWITCHBOARD_ROUTING_RETRIES="0",
    )
    async with live_server(settings) as base:
        console = await open_console(browser, base, DESKTOP)
        page = console.page
        await console.sign_in()
        await page.goto(base + "/console/#/providers")
        routes = page.locator("#routes")
        await expect(routes).to_contain_text("ok broken:some-model")

        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for n in range(3):
                answer = await client.post(
                    "/v1/chat", json={"message": f"try {n}", "model": "flaky"}, headers=auth(KEY_A)
                )
                assert answer.status_code == 200 and answer.json()["provider"] == "scripted"

        # no click on Refresh: the page reloads the health on its own
        await expect(routes).to_contain_text("cooling broken:some-model", timeout=10_000)
        assert "refused" in (await routes.text_content() or "")
        await console.screenshot("console-providers-cooling")
        assert console.foreign_requests() == [] and console.errors == []
