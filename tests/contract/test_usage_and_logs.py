"""GET /v1/usage sums the caller's turns; logs carry events with fields, never keys or prompt text."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from tests.support.app import KEY_A, KEY_B, app_client, auth, make_settings


async def test_usage_is_summarised_by_day_provider_and_model_for_the_callers_tenant(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path)) as client:
        answers = [
            (await client.post("/v1/chat", json={"message": f"note number {n}"}, headers=auth(KEY_A))).json()
            for n in range(3)
        ]
        await client.post("/v1/chat", json={"message": "other tenant"}, headers=auth(KEY_B))
        summary = (await client.get("/v1/usage", headers=auth(KEY_A))).json()
        bad = await client.get("/v1/usage", params={"days": 0}, headers=auth(KEY_A))
    [row] = summary["data"]
    assert summary["tenant_id"] == "tenant-a"
    assert (row["provider"], row["model"], row["requests"], row["failed"]) == ("scripted", "scripted-1", 3, 0)
    assert row["total_tokens"] == sum(a["usage"]["total_tokens"] for a in answers)
    assert row["input_tokens"] + row["output_tokens"] == row["total_tokens"]
    assert bad.status_code == 400


async def test_logs_have_one_request_line_and_one_call_ended_without_secrets_or_prompts(
    tmp_path: Path,
) -> None:
    captured = io.StringIO()
    real_stderr = sys.stderr
    settings = make_settings(tmp_path, SWITCHBOARD_LOG_LEVEL="INFO", SWITCHBOARD_LOG_FORMAT="json")
    sys.stderr = captured  # the log handler writes to sys.stderr as configured at app creation
    try:
        async with app_client(settings) as client:
            response = await client.post(
                "/v1/chat",
                json={"message": "my secret plan is zebra-42"},
                headers={**auth(KEY_A), "x-request-id": "r-1"},
            )
            await client.post("/v1/chat", json={"message": "hi"}, headers=auth("wrong-key-123"))
    finally:
        sys.stderr = real_stderr
    assert response.status_code == 200
    text = captured.getvalue()
    lines = [line for line in text.splitlines() if '"request_id":"r-1"' in line]
    assert sum('"event":"http.request"' in line for line in lines) == 1
    completed = [line for line in lines if '"event":"call.ended"' in line]
    assert len(completed) == 1
    assert '"provider":"scripted"' in completed[0] and '"output_tokens"' in completed[0]
    assert '"outcome":"completed"' in completed[0] and '"surface":"chat"' in completed[0]
    assert "zebra-42" not in text
    assert KEY_A not in text
    assert "wrong-key-123" not in text
