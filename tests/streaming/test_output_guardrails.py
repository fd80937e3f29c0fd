"""Output guardrails on streams: no ``text.delta`` ever carries text that the tenant's output rules redact
or block, also when a match is cut across deltas; a policy may opt out (``stream_output: raw``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.app import KEY_A_ADMIN, app_client, auth, make_settings
from tests.support.fakes import FakeModel, use_model
from tests.support.sse import Frame, events, parse_frames

CARD_DIGITS = ["41", "11 11", "11 1", "111 11", "11"]  # 4111 1111 1111 1111, cut mid-group
TOKENS = ["The code word is top", " sec", "ret and the card ", *CARD_DIGITS, ", call me."]
RULES = [
    {"type": "blocked_terms", "terms": ["top secret"], "action": "redact", "applies_to": "output"},
    {"type": "pii", "kinds": ["card"], "action": "redact", "applies_to": "output"},
]


STORED: dict[str, Any] = {}
"""The conversation each ``_stream`` call stored, by its tmp_path."""


async def _stream(
    tokens: list[str], rules: list[dict[str, Any]], tmp_path: Path, **policy: Any
) -> list[Frame]:
    runtime = FakeModel(tokens=tokens)
    async with app_client(make_settings(tmp_path), configure=use_model(runtime)) as client:
        body = {"name": "default", "rules": rules, **policy}
        put = await client.put("/v1/guardrails/policies/default", json=body, headers=auth(KEY_A_ADMIN))
        assert put.status_code == 200, put.text
        response = await client.post("/v1/chat/stream", json={"message": "go"}, headers=auth(KEY_A_ADMIN))
        assert response.status_code == 200
        cid = response.headers["x-conversation-id"]
        STORED[str(tmp_path)] = (
            await client.get(f"/v1/conversations/{cid}", headers=auth(KEY_A_ADMIN))
        ).json()
        return events(parse_frames(response.text))


def _deltas(frames: list[Frame]) -> list[str]:
    return [f.data["delta"] for f in frames if f.event == "text.delta"]


async def test_redacted_text_never_reaches_a_delta_even_across_boundaries(tmp_path: Path) -> None:
    frames = await _stream(TOKENS, RULES, tmp_path)
    deltas = _deltas(frames)
    streamed = "".join(deltas)
    assert frames[-1].event == "run.completed"
    assert streamed == frames[-1].data["output"]
    assert streamed == "The code word is [redacted] and the card [card], call me."
    for secret in ("secret", "4111", "1111"):
        assert secret not in streamed and not any(secret in d for d in deltas)
    assert not any(ch.isdigit() for ch in streamed)


async def test_a_blocking_output_rule_stops_the_stream_before_the_match_goes_out(tmp_path: Path) -> None:
    rules = [{"type": "blocked_terms", "terms": ["launch code"], "action": "block", "applies_to": "output"}]
    frames = await _stream(["Sure, the laun", "ch co", "de is 1234", " and more"], rules, tmp_path)
    streamed = "".join(_deltas(frames))
    assert frames[-1].event == "run.failed"
    assert frames[-1].data["error"]["code"] == "guardrail_blocked"
    assert "laun" not in streamed and "1234" not in streamed
    assert streamed == "Sure, the "
    answer = STORED[str(tmp_path)]["items"][-1]
    assert (answer["status"], answer["text"]) == ("blocked", "")


async def test_a_policy_may_opt_out_for_the_lowest_latency(tmp_path: Path) -> None:
    frames = await _stream(TOKENS, RULES, tmp_path, stream_output="raw")
    assert _deltas(frames) == TOKENS  # deltas as produced, unchecked
    assert frames[-1].data["output"] == "The code word is [redacted] and the card [card], call me."
