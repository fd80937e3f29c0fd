"""The HTTP face of a draining instance: readiness 503 while liveness stays 200, new streams and resumes
refused with a retryable 503 problem (``shutting_down``, ``Retry-After``), other requests still served;
realtime channels refused (1013), and closed with 1012 after an ``error`` event at the end of the grace."""

from __future__ import annotations

from pathlib import Path

import pytest
import svcs

from backend.services.drain import Drain
from tests.support.app import app_client, auth, make_settings


async def test_a_draining_instance_leaves_rotation_and_refuses_new_streams(tmp_path: Path) -> None:
    drains: list[Drain] = []

    def keep(registry: svcs.Registry) -> None:
        with svcs.Container(registry) as container:
            drains.append(container.get(Drain))

    settings = make_settings(tmp_path, SWITCHBOARD_STREAM_RESUME_TTL_S="60")
    async with app_client(settings, configure=keep) as client:
        assert (await client.get("/health/ready")).status_code == 200
        drains[0].begin()

        ready = await client.get("/health/ready")
        assert (ready.status_code, ready.json()["status"]) == (503, "draining")
        assert (await client.get("/health/live")).status_code == 200

        for refused in (
            await client.post("/v1/chat/stream", json={"message": "hi"}, headers=auth()),
            await client.get("/v1/chat/stream/any", headers=auth()),
        ):
            assert refused.status_code == 503
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.headers["retry-after"] == "1"
            body = refused.json()
            assert (body["code"], body["retryable"]) == ("shutting_down", True)

        for protocol_path, body in (
            ("/v1/chat/completions", {"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}),
            ("/v1/responses", {"model": "scripted", "input": "hi"}),
        ):
            refused = await client.post(protocol_path, json={**body, "stream": True}, headers=auth())
            assert (refused.status_code, refused.headers["retry-after"]) == (503, "1")
            assert refused.json()["error"]["code"] == "shutting_down"  # in OpenAI's envelope there
            assert (await client.post(protocol_path, json=body, headers=auth())).status_code == 200

        answered = await client.post("/v1/chat", json={"message": "still here?"}, headers=auth())
        assert answered.status_code == 200  # a JSON turn is short: served until the cut
        assert (await client.get("/v1/agents", headers=auth())).status_code == 200


def test_realtime_channels_are_refused_while_draining_and_closed_with_1012_at_the_cut(tmp_path: Path) -> None:
    from litestar.exceptions import WebSocketDisconnect
    from litestar.testing import TestClient

    from backend.app import create_app

    drains: list[Drain] = []

    def keep(registry: svcs.Registry) -> None:
        with svcs.Container(registry) as container:
            drains.append(container.get(Drain))

    settings = make_settings(tmp_path, SWITCHBOARD_DRAIN_GRACE_S="0.2")
    with TestClient(create_app(settings, configure=keep)) as client:
        with client.websocket_connect("/v1/realtime", headers=auth()) as ws:
            assert ws.receive_json()["type"] == "session.started"
            client.blocking_portal.call(drains[0].run)  # the grace period passes with the channel open
            assert ws.receive_json()["type"] == "session.closed"  # the provider channel was closed
            error = ws.receive_json()
            assert (error["type"], error["error"]["code"]) == ("error", "shutting_down")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1012
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/v1/realtime", headers=auth()) as ws:
                ws.receive_json()
        assert refused.value.code == 1013
