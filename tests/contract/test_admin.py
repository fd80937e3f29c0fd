"""``/v1/admin``: stored keys, usage and provider health; a tenant admin reaches its own tenant only, an
operator key every tenant; every action is one ``admin.audit`` log line without secrets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.support.app import API_KEYS, KEY_A, KEY_A_ADMIN, KEY_B, app_client, auth, make_settings

KEY_B_ADMIN = "key-tenant-b-admin"
KEY_OPERATOR = "key-operator"
ADMIN_KEYS = f"{API_KEYS},{KEY_B_ADMIN}:tenant-b:chat+admin,{KEY_OPERATOR}:ops:operator"


class Logs:
    """The service's real JSON log lines (it writes to whatever ``sys.stderr`` is at the time)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._seen = ""

    def text(self) -> str:
        self._seen += self._capsys.readouterr().err
        return self._seen

    def audits(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("event") == "admin.audit"]


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Logs:
    return Logs(capsys)


@pytest.fixture
async def client(tmp_path: Path, logs: Logs) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = make_settings(tmp_path, SWITCHBOARD_API_KEYS=ADMIN_KEYS, SWITCHBOARD_LOG_LEVEL="INFO")
    async with app_client(settings) as c:
        yield c


async def create(client: AsyncTestClient[Any], key: str, **body: Any) -> Any:
    response = await client.post("/v1/admin/keys", json={"scopes": ["chat"], **body}, headers=auth(key))
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_tenant_admin_creates_lists_and_revokes_its_keys_and_each_action_is_audited(
    client: AsyncTestClient[Any], logs: Logs
) -> None:
    created = await create(client, KEY_A_ADMIN, scopes=["read", "chat"], requests_per_minute=30)
    secret, key = created["secret"], created["key"]
    assert secret.startswith("sb_") and secret.startswith(key["prefix"])
    assert (key["tenant_id"], key["scopes"], key["status"]) == ("tenant-a", ["chat", "read"], "active")
    assert key["requests_per_minute"] == 30

    assert (await client.get("/v1/usage", headers=auth(secret))).status_code == 200
    listed = (await client.get("/v1/admin/keys", headers=auth(KEY_A_ADMIN))).json()["data"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert secret not in json.dumps(listed)

    revoked = await client.delete(f"/v1/admin/keys/{key['id']}", headers=auth(KEY_A_ADMIN))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert (await client.get("/v1/usage", headers=auth(secret))).status_code == 401

    audits = logs.audits()
    assert [(a["action"], a["outcome"]) for a in audits] == [
        ("key.create", "ok"),
        ("key.list", "ok"),
        ("key.revoke", "ok"),
    ]
    for event in audits:
        assert event["actor_tenant"] == "tenant-a" and event["actor_key_id"].startswith("env-")
        assert datetime.fromisoformat(event["timestamp"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert audits[0]["key_id"] == key["id"] and audits[2]["key_id"] == key["id"]
    assert secret not in logs.text() and KEY_A_ADMIN not in logs.text()


async def test_a_tenant_admin_cannot_reach_another_tenant(client: AsyncTestClient[Any], logs: Logs) -> None:
    other = (await create(client, KEY_B_ADMIN))["key"]
    own = (await create(client, KEY_A_ADMIN))["key"]
    a = auth(KEY_A_ADMIN)

    listed = await client.get("/v1/admin/keys", params={"tenant": "tenant-b"}, headers=a)
    into_b = await client.post(
        "/v1/admin/keys", json={"scopes": ["chat"], "tenant_id": "tenant-b"}, headers=a
    )
    revoke_b = await client.delete(f"/v1/admin/keys/{other['id']}", headers=a)
    rotate_b = await client.post(f"/v1/admin/keys/{other['id']}/rotate", headers=a)
    usage_b = await client.get("/v1/admin/usage", params={"tenant": "tenant-b"}, headers=a)

    assert [r.status_code for r in (listed, into_b, revoke_b, rotate_b, usage_b)] == [403, 403, 404, 404, 403]
    assert revoke_b.headers["content-type"].startswith("application/problem+json")
    assert revoke_b.json()["type"].endswith("not_found")
    own_list = (await client.get("/v1/admin/keys", headers=a)).json()["data"]
    assert [k["id"] for k in own_list] == [own["id"]]
    b_list = (await client.get("/v1/admin/keys", headers=auth(KEY_B_ADMIN))).json()["data"]
    assert [(k["id"], k["status"]) for k in b_list] == [(other["id"], "active")]
    refused = [(e["action"], e["outcome"]) for e in logs.audits() if e["outcome"] != "ok"]
    assert refused == [
        ("key.list", "forbidden"),
        ("key.create", "forbidden"),
        ("key.revoke", "not_found"),
        ("key.rotate", "not_found"),
        ("usage.read", "forbidden"),
    ]


async def test_the_operator_sees_and_manages_every_tenant(client: AsyncTestClient[Any], logs: Logs) -> None:
    a_key = (await create(client, KEY_A_ADMIN))["key"]
    op = auth(KEY_OPERATOR)
    b_key = (await create(client, KEY_OPERATOR, tenant_id="tenant-b", scopes=["read"]))["key"]
    assert b_key["tenant_id"] == "tenant-b"

    everything = (await client.get("/v1/admin/keys", headers=op)).json()["data"]
    assert {(k["id"], k["tenant_id"]) for k in everything} == {
        (a_key["id"], "tenant-a"),
        (b_key["id"], "tenant-b"),
    }
    only_b = (await client.get("/v1/admin/keys", params={"tenant": "tenant-b"}, headers=op)).json()["data"]
    assert [k["id"] for k in only_b] == [b_key["id"]]
    assert (await client.delete(f"/v1/admin/keys/{a_key['id']}", headers=op)).json()["status"] == "revoked"

    await client.post("/v1/chat", json={"message": "hello"}, headers=auth(KEY_B))
    usage_b = await client.get("/v1/admin/usage", params={"tenant": "tenant-b"}, headers=op)
    assert usage_b.status_code == 200
    assert usage_b.json()["tenant_id"] == "tenant-b" and usage_b.json()["data"][0]["requests"] == 1

    operator_events = [e for e in logs.audits() if e["operator"]]
    assert [(e["action"], e["tenant"]) for e in operator_events] == [
        ("key.create", "tenant-b"),
        ("key.list", "*"),
        ("key.list", "tenant-b"),
        ("key.revoke", "tenant-a"),
        ("usage.read", "tenant-b"),
    ]


async def test_rotation_replaces_the_secret_and_keeps_scopes_and_limits(client: AsyncTestClient[Any]) -> None:
    old = await create(client, KEY_A_ADMIN, scopes=["read"], tokens_per_minute=500, expires_in_days=3)
    response = await client.post(f"/v1/admin/keys/{old['key']['id']}/rotate", headers=auth(KEY_A_ADMIN))
    assert response.status_code == 201
    new = response.json()
    assert new["secret"] != old["secret"] and new["key"]["id"] != old["key"]["id"]
    for field in ("tenant_id", "scopes", "tokens_per_minute", "expires_at"):
        assert new["key"][field] == old["key"][field]
    assert (await client.get("/v1/usage", headers=auth(old["secret"]))).status_code == 401
    assert (await client.get("/v1/usage", headers=auth(new["secret"]))).status_code == 200
    again = await client.post(f"/v1/admin/keys/{old['key']['id']}/rotate", headers=auth(KEY_A_ADMIN))
    assert again.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["operator"]}, "scopes"),
        ({"scopes": ["chat", "root"]}, "scopes"),
        ({"scopes": ["chat"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"scopes": ["chat"], "expires_at": "2999-01-01T00:00:00Z", "expires_in_days": 2}, "expires_in_days"),
    ],
)
async def test_impossible_keys_are_refused_with_a_problem(
    client: AsyncTestClient[Any], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/admin/keys", json=body, headers=auth(KEY_OPERATOR))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


async def test_bodies_out_of_bounds_are_400(client: AsyncTestClient[Any]) -> None:
    for body in (
        {"scopes": []},
        {"scopes": ["chat"], "requests_per_minute": 0},
        {"scopes": ["chat"], "x": 1},
    ):
        response = await client.post("/v1/admin/keys", json=body, headers=auth(KEY_A_ADMIN))
        assert response.status_code == 400, body


ROUTES = [
    ("GET", "/v1/admin/keys"),
    ("POST", "/v1/admin/keys"),
    ("DELETE", "/v1/admin/keys/key_0000000000000000"),
    ("POST", "/v1/admin/keys/key_0000000000000000/rotate"),
    ("GET", "/v1/admin/usage"),
    ("GET", "/v1/admin/providers"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_admin_route_needs_a_key_with_admin(
    client: AsyncTestClient[Any], logs: Logs, method: str, path: str
) -> None:
    body = {"json": {"scopes": ["chat"]}} if method == "POST" and path.endswith("keys") else {}
    anonymous = await client.request(method, path, **body)
    chat_only = await client.request(method, path, headers=auth(KEY_A), **body)
    assert (anonymous.status_code, chat_only.status_code) == (401, 403)
    assert chat_only.headers["content-type"].startswith("application/problem+json")
    [event] = logs.audits()
    assert (event["actor_key_id"], event["outcome"]) == (event["actor_key_id"], "forbidden")
    assert event["actor_tenant"] == "tenant-a"


async def test_admins_see_provider_instances_routes_and_health(
    client: AsyncTestClient[Any], logs: Logs
) -> None:
    admin = (await client.get("/v1/admin/providers", headers=auth(KEY_A_ADMIN))).json()
    public = (await client.get("/v1/providers", headers=auth(KEY_A))).json()
    assert admin["default"] == public["default"]
    assert [p["name"] for p in admin["data"]] == [p["name"] for p in public["data"]]
    assert {r["name"] for r in admin["routes"]} == {r["name"] for r in public["routes"]}
    assert [e["action"] for e in logs.audits()] == ["providers.read"]


async def test_the_admin_routes_are_documented_with_problem_responses(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/docs/openapi.json")).json()
    paths = schema["paths"]
    assert {"/v1/admin/keys", "/v1/admin/keys/{key_id}", "/v1/admin/keys/{key_id}/rotate"} <= set(paths)
    create_op = paths["/v1/admin/keys"]["post"]
    assert (
        "201" in create_op["responses"]
        and "application/problem+json" in create_op["responses"]["403"]["content"]
    )


async def test_writing_a_guardrail_policy_is_audited_too(client: AsyncTestClient[Any], logs: Logs) -> None:
    policy = {"name": "default", "rules": [{"type": "blocked_terms", "terms": ["zebra"]}]}
    written = await client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN))
    refused = await client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A))
    assert (written.status_code, refused.status_code) == (200, 403)
    assert [(e["action"], e["outcome"], e["policy"], e["actor_tenant"]) for e in logs.audits()] == [
        ("policy.put", "ok", "default", "tenant-a"),
        ("policy.put", "forbidden", "default", "tenant-a"),
    ]
