"""The SSE protocol's invariants (docs/streaming.md), one test each."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.support.app import app_client, auth, live_server, make_settings
from tests.support.fakes import FakeModel, use_model
from tests.support.sse import events, parse_frames


async def _stream(client: Any, body: dict[str, Any]) -> str:
    response = await client.post("/v1/chat/stream", json=body, headers=auth())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return str(response.text)


async def test_ids_increase_and_exactly_one_terminal_event_comes_last(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path)) as client:
        frames = events(parse_frames(await _stream(client, {"message": "what is 2 + 3 * 4?"})))
    ids = [f.id for f in frames]
    assert ids == list(range(1, len(frames) + 1))
    kinds = [f.event for f in frames]
    assert kinds[0] == "run.started"
    assert kinds[-1] == "run.completed"
    assert sum(k in ("run.completed", "run.failed") for k in kinds) == 1
    assert {"tool.called", "tool.output", "text.delta", "usage"} <= set(kinds)
    text = "".join(f.data["delta"] for f in frames if f.event == "text.delta")
    assert text == frames[-1].data["output"]
    assert "14" in text


async def test_heartbeats_are_sent_while_waiting_before_the_first_token(tmp_path: Path) -> None:
    runtime = FakeModel(first_token_delay=0.35)
    settings = make_settings(tmp_path, SWITCHBOARD_SSE_HEARTBEAT_S="0.05")
    async with app_client(settings, configure=use_model(runtime)) as client:
        frames = parse_frames(await _stream(client, {"message": "hi"}))
    first_delta = next(i for i, f in enumerate(frames) if f.event == "text.delta")
    heartbeats = [i for i, f in enumerate(frames) if f.comments == ["heartbeat"]]
    assert heartbeats, "no heartbeat comment was sent"
    assert heartbeats[0] < first_delta
    assert len([h for h in heartbeats if h < first_delta]) >= 3


async def test_assistant_message_is_stored_before_the_terminal_event(tmp_path: Path) -> None:
    runtime = FakeModel()
    async with app_client(make_settings(tmp_path), configure=use_model(runtime)) as client:
        async with client.stream(
            "POST", "/v1/chat/stream", json={"message": "hi", "conversation_id": "s1"}, headers=auth()
        ) as response:
            buffer = ""
            async for chunk in response.aiter_text():
                buffer += chunk
                if "event: run.completed" in buffer:
                    # stop reading: the stored turn must already be there
                    stored = await client.get("/v1/conversations/s1", headers=auth())
                    break
    items = stored.json()["items"]
    assert [i["type"] for i in items] == ["user_message", "assistant_message"]
    assert items[1]["text"] == "Hello from the fake."
    assert items[1]["status"] == "completed"


async def test_provider_failure_mid_stream_is_a_terminal_error_and_history_stays_consistent(
    tmp_path: Path,
) -> None:
    runtime = FakeModel(fail_after=2)
    async with app_client(make_settings(tmp_path), configure=use_model(runtime)) as client:
        frames = events(parse_frames(await _stream(client, {"message": "hi", "conversation_id": "f1"})))
        stored = (await client.get("/v1/conversations/f1", headers=auth())).json()["items"]
    assert [f.event for f in frames] == ["run.started", "text.delta", "text.delta", "run.failed"]
    assert frames[-1].data["error"]["code"] == "provider_unavailable"
    assert frames[-1].data["error"]["retryable"] is True
    assert [i["type"] for i in stored] == ["user_message", "assistant_message"]
    assert stored[1]["status"] == "failed"
    assert stored[1]["text"] == "Hello from"


async def test_client_disconnect_cancels_the_provider_run_and_stores_the_partial_turn(tmp_path: Path) -> None:
    runtime = FakeModel(tokens=[f"t{n} " for n in range(200)], delay=0.02)
    async with live_server(make_settings(tmp_path), configure=use_model(runtime)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            async with http.stream(
                "POST", "/v1/chat/stream", json={"message": "go", "conversation_id": "d1"}, headers=auth()
            ) as response:
                received = ""
                async for chunk in response.aiter_text():
                    received += chunk
                    if received.count("event: text.delta") >= 5:
                        break  # leaving the block closes the connection mid-stream
            await asyncio.wait_for(runtime.cancelled.wait(), timeout=5)
            for _ in range(100):
                stored = (await http.get("/v1/conversations/d1", headers=auth())).json()
                if "items" in stored:
                    break
                await asyncio.sleep(0.05)
    items = stored["items"]
    assert [i["type"] for i in items] == ["user_message", "assistant_message"]
    assert items[1]["status"] == "cancelled"
    # what the client was sent: the default policy's output card rule may still hold the last digits
    assert items[1]["text"].startswith("t0 t1 t2 t3 t")
    assert len(items[1]["text"].split()) < 200


async def test_errors_before_the_stream_starts_are_problem_json(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path)) as client:
        response = await client.post(
            "/v1/chat/stream", json={"message": "hi", "agent": "nope"}, headers=auth()
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_next_turn_after_a_cancelled_one_does_not_send_the_partial_answer(tmp_path: Path) -> None:
    runtime = FakeModel(fail_after=1)
    async with app_client(make_settings(tmp_path), configure=use_model(runtime)) as client:
        await _stream(client, {"message": "first", "conversation_id": "h1"})
        runtime.fail_after = None
        await _stream(client, {"message": "second", "conversation_id": "h1"})
    messages = runtime.calls[-1].messages
    assert [type(m).__name__ for m in messages] == ["SystemPrompt", "UserPrompt", "UserPrompt"]
    assert runtime.user_texts() == ["first", "second"]
