"""``WS /v1/realtime``: admission (subprotocol key, no key in URLs, Origin allow-list, scopes) and the same
guardrails, limits, storage and usage as ``/v1/chat``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from backend.app import create_app
from tests.support.app import KEY_A, KEY_A_ADMIN, KEY_NO_SCOPE, auth, make_settings

BEARER = ["switchboard.v1", f"bearer.{KEY_A}"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    settings = make_settings(tmp_path, SWITCHBOARD_ALLOWED_ORIGINS="https://app.example.com")
    with TestClient(create_app(settings)) as c:
        yield c


def turn(ws: Any, text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send a text, collect events up to ``turn.completed`` or an ``error``."""
    ws.send_json({"type": "input.text", "text": text})
    seen = []
    while True:
        event = ws.receive_json()
        if event["type"] in ("turn.completed", "error"):
            return seen, event
        seen.append(event)


def refused_with(client: TestClient[Any], url: str, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(url, **kwargs) as ws:
        ws.receive_json()
    return refused.value.code, str(refused.value.detail)


def test_a_browser_authenticates_with_the_bearer_subprotocol(client: TestClient[Any]) -> None:
    with client.websocket_connect(
        "/v1/realtime", subprotocols=BEARER, headers={"origin": "https://app.example.com"}
    ) as ws:
        assert ws.accepted_subprotocol == "switchboard.v1"  # the key is never echoed
        started = ws.receive_json()
        assert started["type"] == "session.started" and started["conversation_id"]


def test_refusals_carry_a_code_and_a_reason(client: TestClient[Any]) -> None:
    assert refused_with(client, "/v1/realtime")[0] == 4401
    code, reason = refused_with(client, f"/v1/realtime?api_key={KEY_A}")
    assert code == 4401 and "URL" in reason
    assert refused_with(client, "/v1/realtime", subprotocols=["switchboard.v1", "bearer.nope"])[0] == 4401
    assert refused_with(client, "/v1/realtime", headers=auth(KEY_NO_SCOPE))[0] == 4403
    code, reason = refused_with(
        client, "/v1/realtime", subprotocols=BEARER, headers={"origin": "https://evil.example"}
    )
    assert code == 4403 and "Origin" in reason
    code, reason = refused_with(client, "/v1/realtime?provider=nope", headers=auth())
    assert code == 4400 and "nope" in reason
    assert refused_with(client, "/v1/realtime?conversation_id=a%00b", headers=auth())[0] == 4400


def test_realtime_applies_the_tenant_policy_and_stores_and_bills_turns(client: TestClient[Any]) -> None:
    policy = {
        "name": "default",
        "rules": [
            {"type": "blocked_terms", "terms": ["forbidden topic"], "action": "block", "applies_to": "input"},
            {"type": "pii", "kinds": ["card"], "action": "redact", "applies_to": "both"},
        ],
    }
    saved = client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN))
    assert saved.status_code == 200, saved.text
    with client.websocket_connect("/v1/realtime?conversation_id=rt-1", headers=auth()) as ws:
        assert ws.receive_json()["conversation_id"] == "rt-1"
        _, blocked = turn(ws, "tell me about the forbidden topic")
        assert blocked["type"] == "error" and blocked["error"]["code"] == "guardrail_blocked"
        deltas, done = turn(ws, "my card is 4111 1111 1111 1111")
        streamed = "".join(d["delta"] for d in deltas)
        assert "4111" not in streamed and "[card]" in done["text"] and streamed == done["text"]
        ws.send_json({"type": "input.audio", "audio": "AAAA"})
        refused_audio = ws.receive_json()
        assert refused_audio["type"] == "error" and "audio" in refused_audio["error"]["detail"]
    items = client.get("/v1/conversations/rt-1", headers=auth()).json()["items"]
    assert [i["type"] for i in items] == ["user_message", "assistant_message"]
    assert "4111" not in items[0]["text"] and items[1]["status"] == "completed"
    usage = client.get("/v1/usage", headers=auth()).json()["data"]
    assert sum(row["requests"] for row in usage) == 1


def test_a_blocking_output_rule_stops_a_realtime_answer_before_the_match(client: TestClient[Any]) -> None:
    policy = {
        "name": "default",
        "rules": [
            {"type": "blocked_terms", "terms": ["pineapple"], "action": "block", "applies_to": "output"}
        ],
    }
    assert (
        client.put("/v1/guardrails/policies/default", json=policy, headers=auth(KEY_A_ADMIN)).status_code
        == 200
    )
    with client.websocket_connect("/v1/realtime?conversation_id=rt-2", headers=auth()) as ws:
        ws.receive_json()
        deltas, blocked = turn(ws, "I like pineapple pizza")
        assert blocked["type"] == "error" and blocked["error"]["code"] == "guardrail_blocked"
        assert "pineapple" not in "".join(d.get("delta", "") for d in deltas)
        _, after = turn(ws, "and now?")  # the session goes on with the next turn
        assert after["type"] == "turn.completed"
    items = client.get("/v1/conversations/rt-2", headers=auth()).json()["items"]
    assert [(i["type"], i.get("status")) for i in items][:2] == [
        ("user_message", None),
        ("assistant_message", "blocked"),
    ]
    assert items[1]["text"] == ""
