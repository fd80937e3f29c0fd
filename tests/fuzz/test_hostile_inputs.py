"""Hand-made hostile inputs against a live server: each gets a defined 4xx (or a closed connection) within
a bound, and the service answers normally afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.app import KEY_A_ADMIN, auth

BOUND_S = 3.0
pytestmark = pytest.mark.asyncio(loop_scope="module")  # one live server for the module (conftest.py)


def _address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def _raw(
    base: str, payload: bytes, *, trickle: float = 0.0, read_for: float = BOUND_S
) -> tuple[bytes, float]:
    """Send ``payload`` (one byte per ``trickle`` seconds if set) while reading; return what came back
    and how long until the server closed the connection (or ``read_for`` elapsed)."""
    reader, writer = await asyncio.open_connection(*_address(base))
    start = time.perf_counter()
    received = bytearray()

    async def read() -> None:
        while chunk := await reader.read(65536):
            received.extend(chunk)

    reading = asyncio.create_task(read())
    try:
        for piece in [payload[i : i + 1] for i in range(len(payload))] if trickle else [payload]:
            if reading.done() or not piece:
                break
            writer.write(piece)
            await writer.drain()
            if trickle:
                await asyncio.sleep(trickle)
    except (ConnectionError, OSError):
        pass
    with contextlib.suppress(TimeoutError, ConnectionError, OSError):
        await asyncio.wait_for(
            asyncio.shield(reading), timeout=max(0.05, read_for - (time.perf_counter() - start))
        )
    took = time.perf_counter() - start
    reading.cancel()
    writer.close()
    return bytes(received), took


async def _responsive(base: str) -> None:
    """The service still answers, and the tenant's policy is back to its default for the next test."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        reset = {"name": "default", "rules": []}
        assert (
            await http.put("/v1/guardrails/policies/default", json=reset, headers=auth(KEY_A_ADMIN))
        ).status_code == 200
        assert (await http.get("/health/live")).status_code == 200
        answer = await http.post("/v1/chat", json={"message": "still there?"}, headers=auth())
        assert answer.status_code == 200


async def _post(base: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=BOUND_S) as http:
        return await http.post(
            "/v1/chat", content=content, headers={"content-type": "application/json", **headers}
        )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000, "Expected `object`, got `array`"),  # refused by type before any recursion
        (b'{"message": "\xff\xfe"}', "not valid UTF-8"),
        (b"", "body is empty"),
        (b'{"message": ', "not valid JSON"),
    ],
)
async def test_bad_bodies_are_401_without_a_key_and_a_clear_400_with_one(
    server: str, body: bytes, reason: str
) -> None:
    anonymous = await _post(server, body, {})
    assert anonymous.status_code == 401  # authenticated before the body is even read
    keyed = await _post(server, body, auth())
    assert keyed.status_code == 400 and reason in keyed.json()["detail"]
    assert keyed.headers["content-type"] == "application/problem+json"
    await _responsive(server)


async def test_deep_nesting_inside_a_free_form_field_is_a_clear_400(server: str) -> None:
    """A tool's JSON schema is free-form, so nesting there is decoded until the recursion limit."""
    body = (
        b'{"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": '
        b'"function", "function": {"name": "f", "parameters": {"a": ' + b"[" * 100_000
    )
    async with httpx.AsyncClient(base_url=server, timeout=BOUND_S) as http:
        keyed = await http.post(
            "/v1/chat/completions",
            content=body,
            headers={"content-type": "application/json", **auth()},
        )
    assert keyed.status_code == 400
    assert "nested too deeply" in keyed.json()["error"]["message"]
    await _responsive(server)


async def test_nul_in_identifiers_is_a_400_naming_the_parameter(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=BOUND_S) as http:
        conversation = await http.get("/v1/conversations/a%00b", headers=auth())
        policy = await http.put(
            "/v1/guardrails/policies/a%00b", json={"name": "a"}, headers=auth(KEY_A_ADMIN)
        )
        message = await http.post("/v1/chat", json={"message": "nul \x00 inside"}, headers=auth())
    assert conversation.status_code == 400 and "conversation_id" in conversation.text
    assert policy.status_code == 400 and "name" in policy.text
    assert message.status_code == 200 and message.json()["output"].endswith("nul \x00 inside")


async def test_huge_and_many_headers_are_refused_at_once(server: str) -> None:
    huge = b"GET /health/live HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 4_000_000 + b"\r\n\r\n"
    data, took = await _raw(server, huge)
    assert data.startswith(b"HTTP/1.1 431") and took < BOUND_S
    many = (
        b"GET /health/live HTTP/1.1\r\nhost: x\r\n"
        + b"".join(b"x-h%d: v\r\n" % n for n in range(200))
        + b"\r\n"
    )
    data, took = await _raw(server, many)
    assert data.startswith(b"HTTP/1.1 431") and took < BOUND_S
    await _responsive(server)


async def test_slow_and_idle_clients_are_closed(server: str) -> None:
    slow = b"GET /health/live HTTP/1.1\r\nhost: x\r\nx-slow: " + b"s" * 100 + b"\r\n\r\n"
    data, took = await _raw(server, slow, trickle=0.05)
    assert data.startswith(b"HTTP/1.1 408") and took < BOUND_S
    data, took = await _raw(server, b"")  # connects, says nothing
    assert data == b"" and took < BOUND_S  # closed by the server, not by our read timeout
    body_never_comes = b"POST /v1/chat HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\ncontent-type: application/json\r\nauthorization: Bearer key-tenant-a\r\n\r\n{"
    data, took = await _raw(server, body_never_comes)
    assert took < BOUND_S
    await _responsive(server)


async def test_unauthenticated_connections_are_capped_and_authenticated_ones_are_not(server: str) -> None:
    host, port = _address(server)
    idle = [await asyncio.open_connection(host, port) for _ in range(8)]
    try:
        data, took = await _raw(server, b"GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n", read_for=1.0)
        assert data.startswith(b"HTTP/1.1 503") and took < BOUND_S
    finally:
        for _, writer in idle:
            writer.close()
    await asyncio.sleep(0.1)
    async with httpx.AsyncClient(base_url=server, timeout=5) as http:  # keep-alive: one connection
        for _ in range(3):
            assert (await http.get("/v1/agents", headers=auth())).status_code == 200
        others = [await asyncio.open_connection(host, port) for _ in range(7)]
        try:  # the authenticated connection no longer counts: 7 idle ones fit under the cap of 8
            data, _ = await _raw(server, b"GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n", read_for=1.0)
            assert data.startswith(b"HTTP/1.1 200")
        finally:
            for _, writer in others:
                writer.close()


@pytest.mark.parametrize(
    "pattern",
    ["(?:(?:a{1000}){1000}){1000}", "(?:a{100}){100}", "(a+)+$", "(?:x|y|" + "z|" * 400 + "w){900}"],
)
async def test_hostile_policies_are_refused_quickly_or_bounded(server: str, pattern: str) -> None:
    policy = {"name": "default", "rules": [{"type": "regex", "name": "r", "pattern": pattern}]}
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        start = time.perf_counter()
        put = await http.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN))
        assert time.perf_counter() - start < BOUND_S
        if put.status_code == 200:  # an accepted pattern (catastrophic backtracking) is cut by its timeout
            start = time.perf_counter()
            turn = await http.post("/v1/chat", json={"message": "a" * 5000 + "!"}, headers=auth())
            assert turn.status_code in (200, 422) and time.perf_counter() - start < BOUND_S
        else:
            assert put.status_code == 422 and put.json()["field"] == "rules"
    await _responsive(server)


async def test_pii_worst_cases_stay_fast(server: str) -> None:
    policy = {"name": "default", "rules": [{"type": "pii", "action": "redact"}]}
    worst = ["a@b.co" * 2_500, "a@b.co " * 2_000, "1 " * 7_000, "+1 (555) 123-4567, " * 800, "4111 " * 3_000]
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        assert (
            await http.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN))
        ).status_code == 200
        for text in worst:
            start = time.perf_counter()
            turn = await http.post("/v1/chat", json={"message": text[:15_000]}, headers=auth())
            assert turn.status_code == 200 and time.perf_counter() - start < BOUND_S
    await _responsive(server)
