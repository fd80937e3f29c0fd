"""What ``scrub`` takes out of log text, and what it leaves alone (the cheap pre-check must skip nothing)."""

from __future__ import annotations

import pytest

from backend.telemetry.redaction import scrub

SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize(
    "text",
    [
        f"GET /v1/realtime?api_key={SECRET} HTTP/1.1",
        f"/ws?ACCESS_TOKEN={SECRET}&x=1",
        f"/stream?ticket={SECRET}",
        f"Authorization: Bearer {SECRET}",
        f"Sec-WebSocket-Protocol: realtime, BEARER.{SECRET}",
        f'{{"x-api-key": "{SECRET}"}}',
        f"X-API-Key: {SECRET}",
        f"postgresql+asyncpg://app:{SECRET}@db:5432/switchboard",
        f"redis://default:{SECRET}@cache:6379/0",
    ],
)
def test_every_kind_of_credential_is_redacted(text: str) -> None:
    scrubbed = scrub(text)
    assert SECRET not in scrubbed
    assert "[redacted]" in scrubbed


@pytest.mark.parametrize(
    "text", ["/v1/chat/completions", "POST", "openai:gpt-4o-mini", "c0ffee" * 5, "", "run.completed"]
)
def test_ordinary_values_are_left_as_they_are(text: str) -> None:
    assert scrub(text) is text
