"""Real WebSocket clients (the ``websockets`` library against uvicorn) see the close codes and reasons,
not a bare HTTP 403 as when the server refused before accepting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError
from websockets.typing import Subprotocol

from tests.support.app import KEY_A, KEY_NO_SCOPE, live_server, make_settings


def ws_url(base: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + "/v1/realtime" + query


def bearer(key: str) -> list[Subprotocol]:
    return [Subprotocol("switchboard.v1"), Subprotocol(f"bearer.{key}")]


async def closed_with(url: str, **kwargs: object) -> tuple[int, str]:
    async with connect(url, open_timeout=5, **kwargs) as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_real_clients_get_the_close_code_and_reason(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SWITCHBOARD_ALLOWED_ORIGINS="https://app.example.com")
    async with live_server(settings) as base:
        assert (await closed_with(ws_url(base)))[0] == 4401
        code, reason = await closed_with(ws_url(base, f"?api_key={KEY_A}"))
        assert code == 4401 and "URL" in reason
        assert (await closed_with(ws_url(base), subprotocols=bearer(KEY_NO_SCOPE)))[0] == 4403
        code, reason = await closed_with(ws_url(base, "?provider=nope"), subprotocols=bearer(KEY_A))
        assert code == 4400 and "nope" in reason
        code, reason = await closed_with(
            ws_url(base), subprotocols=bearer(KEY_A), origin="https://evil.example"
        )
        assert code == 4403 and "Origin" in reason
        async with connect(
            ws_url(base), subprotocols=bearer(KEY_A), origin="https://app.example.com", open_timeout=5
        ) as ws:
            assert ws.subprotocol == "switchboard.v1"
            assert json.loads(await ws.recv())["type"] == "session.started"
