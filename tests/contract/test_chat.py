"""POST /v1/chat: success, conversation continuity, and every error a client can cause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from tests.support.app import KEY_A, KEY_A_ADMIN, KEY_B, KEY_NO_SCOPE, app_client, auth, make_settings
from tests.support.fakes import FakeModel, use_model

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:switchboard:problem:{code}"
    assert body["detail"]
    assert "Traceback" not in response.text
    if field is not None:
        assert body["field"] == field, body
    return body


async def test_smallest_body_gets_an_offline_answer_derived_from_the_prompt(
    client: AsyncTestClient[Any],
) -> None:
    response = await client.post("/v1/chat", json={"message": "hello there"}, headers=auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert "hello there" in body["output"]
    assert body["provider"] == "scripted"
    assert body["offline"] is True
    assert body["agent"] == "assistant"
    assert body["usage"]["output_tokens"] > 0
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    assert [item["type"] for item in body["items"]] == ["user_message", "assistant_message"]


async def test_second_turn_sees_the_first(client: AsyncTestClient[Any]) -> None:
    first = (await client.post("/v1/chat", json={"message": "my cat is called Miso"}, headers=auth())).json()
    second = await client.post(
        "/v1/chat",
        json={"message": "What did I say?", "conversation_id": first["conversation_id"]},
        headers=auth(),
    )
    assert second.status_code == 200
    assert "my cat is called Miso" in second.json()["output"]


async def test_tool_round_trip_is_answered_and_stored(client: AsyncTestClient[Any]) -> None:
    body = (await client.post("/v1/chat", json={"message": "what is 6 * 7?"}, headers=auth())).json()
    assert "42" in body["output"]
    types = [item["type"] for item in body["items"]]
    assert types == ["user_message", "tool_call", "tool_result", "assistant_message"]
    stored = (await client.get(f"/v1/conversations/{body['conversation_id']}", headers=auth())).json()
    assert [i["type"] for i in stored["items"]] == types
    assert stored["items"][2]["output"].startswith("42")


async def test_agent_without_tools_answers_without_calling_them(client: AsyncTestClient[Any]) -> None:
    body = (
        await client.post("/v1/chat", json={"message": "what is 6 * 7?", "agent": "concise"}, headers=auth())
    ).json()
    assert [item["type"] for item in body["items"]] == ["user_message", "assistant_message"]
    assert body["agent"] == "concise"


async def test_missing_and_wrong_keys_are_401(client: AsyncTestClient[Any]) -> None:
    missing = await client.post("/v1/chat", json={"message": "hi"})
    assert_problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = await client.post("/v1/chat", json={"message": "hi"}, headers=auth("not-a-key"))
    body = assert_problem(wrong, 401, "unauthorized")
    assert "not-a-key" not in wrong.text and "not-a-key" not in str(body)


async def test_key_without_chat_scope_is_403(client: AsyncTestClient[Any]) -> None:
    assert_problem(
        await client.post("/v1/chat", json={"message": "hi"}, headers=auth(KEY_NO_SCOPE)), 403, "forbidden"
    )


async def test_malformed_json_is_400(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/v1/chat", content=b'{"message": "hi"', headers={**auth(), "content-type": "application/json"}
    )
    assert_problem(response, 400, "invalid_body")


async def test_wrong_type_names_the_field(client: AsyncTestClient[Any]) -> None:
    body = assert_problem(
        await client.post("/v1/chat", json={"message": 42}, headers=auth()),
        400,
        "invalid_body",
        field="message",
    )
    assert "str" in body["detail"]


async def test_unknown_field_is_rejected_by_name(client: AsyncTestClient[Any]) -> None:
    body = assert_problem(
        await client.post("/v1/chat", json={"mesage": "hi"}, headers=auth()), 400, "invalid_body"
    )
    assert "mesage" in body["detail"]


async def test_empty_and_oversized_messages_are_400(client: AsyncTestClient[Any]) -> None:
    assert_problem(
        await client.post("/v1/chat", json={"message": ""}, headers=auth()),
        400,
        "invalid_body",
        field="message",
    )
    huge = await client.post("/v1/chat", json={"message": "x" * 100_001}, headers=auth())
    assert_problem(huge, 400, "invalid_body", field="message")


async def test_body_over_the_configured_limit_is_413(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, SWITCHBOARD_MAX_BODY_BYTES="1000")) as client:
        response = await client.post("/v1/chat", json={"message": "x" * 2000}, headers=auth())
        assert_problem(response, 413, "body_too_large")


async def test_unknown_agent_and_provider_name_the_field(client: AsyncTestClient[Any]) -> None:
    assert_problem(
        await client.post("/v1/chat", json={"message": "hi", "agent": "nope"}, headers=auth()),
        422,
        "invalid_request",
        field="agent",
    )
    assert_problem(
        await client.post("/v1/chat", json={"message": "hi", "provider": "nope"}, headers=auth()),
        422,
        "invalid_request",
        field="provider",
    )


async def test_input_guardrail_block_returns_the_decision_and_stores_nothing(tmp_path: Path) -> None:
    runtime = FakeModel()
    async with app_client(make_settings(tmp_path), configure=use_model(runtime)) as client:
        policy = {"name": "default", "rules": [{"type": "blocked_terms", "terms": ["forbidden"]}]}
        put = await client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN))
        assert put.status_code == 200, put.text
        response = await client.post(
            "/v1/chat", json={"message": "say the forbidden word", "conversation_id": "c1"}, headers=auth()
        )
        body = assert_problem(response, 422, "guardrail_blocked")
        assert body["decision"]["stage"] == "input"
        assert body["decision"]["rule"] == "blocked_terms"
        assert runtime.calls == []
        assert (await client.get("/v1/conversations/c1", headers=auth())).status_code == 404
        # another tenant is not affected by tenant-a's override
        other = await client.post("/v1/chat", json={"message": "say the forbidden word"}, headers=auth(KEY_B))
        assert other.status_code == 200


async def test_provider_failure_is_503_retryable_and_stores_a_failed_turn(tmp_path: Path) -> None:
    """Like a stream that fails: the user message and an empty ``failed`` assistant message."""
    runtime = FakeModel(fail_after=0)
    async with app_client(make_settings(tmp_path), configure=use_model(runtime)) as client:
        response = await client.post(
            "/v1/chat", json={"message": "hi", "conversation_id": "c2"}, headers=auth()
        )
        body = assert_problem(response, 503, "provider_unavailable")
        assert body["retryable"] is True
        stored = (await client.get("/v1/conversations/c2", headers=auth())).json()["items"]
    assert [(i["type"], i.get("status")) for i in stored] == [
        ("user_message", None),
        ("assistant_message", "failed"),
    ]


async def test_request_id_is_echoed_or_created(client: AsyncTestClient[Any]) -> None:
    echoed = await client.get("/health/live", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    created = await client.get("/health/live")
    assert len(created.headers["x-request-id"]) == 32
    problem = await client.post("/v1/chat", json={}, headers={**auth(), "x-request-id": "req-9"})
    assert problem.json()["request_id"] == "req-9"


async def test_same_key_sees_its_own_tenant_only(client: AsyncTestClient[Any]) -> None:
    created = (await client.post("/v1/chat", json={"message": "secret plans"}, headers=auth(KEY_A))).json()
    cid = created["conversation_id"]
    theirs = await client.get(f"/v1/conversations/{cid}", headers=auth(KEY_B))
    absent = await client.get("/v1/conversations/does-not-exist", headers=auth(KEY_B))
    assert_problem(theirs, 404, "not_found")
    assert_problem(absent, 404, "not_found")
    assert theirs.json()["title"] == absent.json()["title"]
    assert (await client.delete(f"/v1/conversations/{cid}", headers=auth(KEY_B))).status_code == 404
    assert (await client.get(f"/v1/conversations/{cid}", headers=auth(KEY_A))).status_code == 200
