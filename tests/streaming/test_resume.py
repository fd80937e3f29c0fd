"""Resumable streams (memory stream log here; Redis across instances in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.app import KEY_B, auth, live_server, make_settings
from tests.support.fakes import FakeModel, use_model
from tests.support.sse import events, parse_frames


async def test_a_client_resumes_after_last_event_id_and_gets_the_rest_then_the_terminal(
    tmp_path: Path,
) -> None:
    runtime = FakeModel(tokens=[f"t{n} " for n in range(30)], delay=0.02)
    settings = make_settings(tmp_path, SWITCHBOARD_STREAM_RESUME_TTL_S="60")
    async with live_server(settings, configure=use_model(runtime)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            async with http.stream(
                "POST", "/v1/chat/stream", json={"message": "go", "conversation_id": "r1"}, headers=auth()
            ) as response:
                stream_id = response.headers["x-stream-id"]
                received = ""
                async for chunk in response.aiter_text():
                    received += chunk
                    if received.count("event: text.delta") >= 4:
                        break
            first = events(parse_frames(received.rsplit("\n\n", 1)[0] + "\n\n"))
            last_id = first[-1].id
            assert last_id is not None
            other = await http.get(f"/v1/chat/stream/{stream_id}", headers=auth(KEY_B))
            assert other.status_code == 404
            resumed = await http.get(
                f"/v1/chat/stream/{stream_id}", headers={**auth(), "Last-Event-ID": str(last_id)}
            )
            assert resumed.status_code == 200
            rest = events(parse_frames(resumed.text))
            assert not runtime.cancelled.is_set()
    assert [f.id for f in rest] == list(range(last_id + 1, last_id + 1 + len(rest)))
    assert rest[-1].event == "run.completed"
    streamed = "".join(f.data["delta"] for f in [*first, *rest] if f.event == "text.delta")
    assert streamed == "".join(f"t{n} " for n in range(30))


async def test_without_resume_a_stream_id_is_not_offered(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            response = await http.post("/v1/chat/stream", json={"message": "hi"}, headers=auth())
            assert "x-stream-id" not in response.headers
            assert (await http.get("/v1/chat/stream/unknown", headers=auth())).status_code == 404
