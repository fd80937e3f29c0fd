"""Conversations, providers, agents, tools, guardrail policies, health and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.contract.test_chat import assert_problem
from tests.support.app import KEY_A, KEY_A_ADMIN, KEY_B, auth


async def test_conversations_paginate_newest_first_without_gaps(client: AsyncTestClient[Any]) -> None:
    ids = []
    for n in range(5):
        body = (await client.post("/v1/chat", json={"message": f"note {n}"}, headers=auth())).json()
        ids.append(body["conversation_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/conversations", params=params, headers=auth())).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    other = (await client.get("/v1/conversations", headers=auth(KEY_B))).json()
    assert other["data"] == []


async def test_bad_cursor_and_limit_are_400_or_422(client: AsyncTestClient[Any]) -> None:
    bad_cursor = await client.get("/v1/conversations", params={"cursor": "%%%"}, headers=auth())
    assert_problem(bad_cursor, 422, "invalid_request", field="cursor")
    assert_problem(
        await client.get("/v1/conversations", params={"limit": 0}, headers=auth()), 400, "invalid_body"
    )


async def test_delete_removes_the_conversation(client: AsyncTestClient[Any]) -> None:
    cid = (await client.post("/v1/chat", json={"message": "to delete"}, headers=auth())).json()[
        "conversation_id"
    ]
    assert (await client.delete(f"/v1/conversations/{cid}", headers=auth())).status_code == 204
    assert_problem(await client.get(f"/v1/conversations/{cid}", headers=auth()), 404, "not_found")
    assert_problem(await client.delete(f"/v1/conversations/{cid}", headers=auth()), 404, "not_found")


async def test_providers_show_the_offline_default_with_health(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/v1/providers", headers=auth())).json()
    assert body["default"] == "scripted"
    [scripted] = body["data"]
    assert scripted["offline"] is True
    assert scripted["default"] is True
    assert scripted["health"]["ok"] is True
    assert scripted["capabilities"]["tools"] is True
    assert_problem(await client.get("/v1/providers"), 401, "unauthorized")


async def test_agents_and_tools_are_listed(client: AsyncTestClient[Any]) -> None:
    agents = (await client.get("/v1/agents", headers=auth())).json()
    assert agents["default"] == "assistant"
    assert {"assistant", "concise"} <= {a["key"] for a in agents["data"]}
    tools = (await client.get("/v1/tools", headers=auth())).json()
    names = {t["name"] for t in tools["data"]}
    assert {"current_time", "calculator", "search_conversations"} <= names
    assert all(t["parameters"]["type"] == "object" for t in tools["data"])


async def test_policies_read_for_any_key_write_for_admin_only(client: AsyncTestClient[Any]) -> None:
    listed = (await client.get("/v1/guardrails/policies", headers=auth())).json()
    assert "default" in {p["name"] for p in listed["data"]}
    policy = {"name": "default", "rules": [{"type": "max_length", "max_chars": 10}]}
    assert_problem(
        await client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A)),
        403,
        "forbidden",
    )
    saved = await client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN))
    assert saved.status_code == 200
    assert (await client.get("/v1/guardrails/policies/default", headers=auth())).json()["rules"][0][
        "max_chars"
    ] == 10
    blocked = await client.post("/v1/chat", json={"message": "this is longer than ten"}, headers=auth())
    assert_problem(blocked, 422, "guardrail_blocked")


async def test_invalid_policies_are_rejected_with_the_field(client: AsyncTestClient[Any]) -> None:
    bad_regex = {"name": "default", "rules": [{"type": "regex", "name": "r", "pattern": "(unclosed"}]}
    assert_problem(
        await client.put("/v1/guardrails/policies/default", json=bad_regex, headers=auth(KEY_A_ADMIN)),
        422,
        "invalid_request",
        field="rules",
    )
    mismatch = {"name": "other", "rules": []}
    assert_problem(
        await client.put("/v1/guardrails/policies/default", json=mismatch, headers=auth(KEY_A_ADMIN)),
        422,
        "invalid_request",
        field="name",
    )
    unknown_rule = {"name": "default", "rules": [{"type": "telepathy"}]}
    assert_problem(
        await client.put("/v1/guardrails/policies/default", json=unknown_rule, headers=auth(KEY_A_ADMIN)),
        400,
        "invalid_body",
    )
    assert_problem(await client.get("/v1/guardrails/policies/nope", headers=auth()), 404, "not_found")


async def test_health_endpoints(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok", "checks": []}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert all(check["ok"] for check in ready.json()["checks"])
    assert [c["name"] for c in ready.json()["checks"]] == ["backend.wiring.resources.Database"]


async def test_openapi_document_and_ui(client: AsyncTestClient[Any]) -> None:
    spec = (await client.get("/docs/openapi.json")).json()
    assert "/v1/chat" in spec["paths"] and "/v1/chat/stream" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_unknown_route_is_a_problem(client: AsyncTestClient[Any]) -> None:
    assert_problem(await client.get("/v1/nothing", headers=auth(KEY_A)), 404, "not_found")


def test_realtime_round_trip_over_websocket(tmp_path: Any) -> None:
    from litestar.testing import TestClient

    from backend.app import create_app
    from tests.support.app import make_settings

    with TestClient(create_app(make_settings(tmp_path))) as client:
        with client.websocket_connect("/v1/realtime", headers=auth()) as ws:
            started = ws.receive_json()
            assert started["type"] == "session.started"
            assert started["offline"] is True
            ws.send_json({"type": "input.text", "text": "hello realtime"})
            deltas = []
            while True:
                event = ws.receive_json()
                if event["type"] == "turn.completed":
                    break
                assert event["type"] == "output.text.delta"
                deltas.append(event["delta"])
            assert "".join(deltas) == event["text"]
            assert "hello realtime" in event["text"]
            ws.send_json({"type": "bogus"})
            assert ws.receive_json()["type"] == "error"
