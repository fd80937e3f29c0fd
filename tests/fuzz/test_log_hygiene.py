"""One session of hostile and ordinary traffic against a live server, logging at DEBUG: every log line it
wrote (ours, uvicorn's handshake lines, tracebacks) is scanned for every key and every prompt used."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import AsyncGenerator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
import svcs
from sqlalchemy.exc import DBAPIError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from adapters.persistence.memory_sessions import MemorySessionStore
from adapters.providers.scripted.realtime import ScriptedRealtime
from adapters.providers.scripted.settings import ScriptedSettings
from contracts.conversations import ConversationInfo, ConversationItem
from contracts.models import ModelEvent, ModelRequest, UserPrompt
from contracts.ports import ProviderDirectory, SessionStore
from tests.support.app import KEY_A, KEY_A_ADMIN, KEY_B, auth, live_server, make_settings
from tests.support.fakes import FakeModel, fake_directory

PROMPTS = {
    "json": "prompt-json-marmalade-7731",
    "sse": "prompt-sse-quokka-1902",
    "realtime": "prompt-realtime-narwhal-5520",
    "db": "prompt-db-failure-okapi-3318",
    "crash": "prompt-adapter-crash-axolotl-4471",
}
WRONG_KEYS = ["wrong-bearer-key-91a7", "wrong-x-api-key-44c2", "wrong-subprotocol-key-7e10"]


class LeakyModel(FakeModel):
    """An adapter bug whose exception message quotes the user's input (as real bugs do)."""

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        said = [m.text for m in request.messages if isinstance(m, UserPrompt)][-1]
        if PROMPTS["crash"] in said:
            raise RuntimeError(f"could not handle {said!r}")
        async for event in super().stream(request):
            yield event


class FailingSessions(MemorySessionStore):
    """A database error as SQLAlchemy raises it when parameters are not hidden: the prompt in the message."""

    async def append(
        self, tenant_id: str, conversation_id: str, items: Sequence[ConversationItem]
    ) -> ConversationInfo:
        texts = [getattr(item, "text", "") for item in items]
        if any(PROMPTS["db"] in text for text in texts):
            raise DBAPIError("INSERT INTO conversation_items ...", texts, Exception(f"bad value {texts[0]}"))
        return await super().append(tenant_id, conversation_id, items)


@contextlib.contextmanager
def captured_stderr() -> Iterator[io.StringIO]:
    buffer, real = io.StringIO(), sys.stderr
    sys.stderr = buffer  # the log handlers write to whatever sys.stderr is at write time
    try:
        yield buffer
    finally:
        sys.stderr = real


async def _traffic(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (
            await http.post("/v1/chat", json={"message": PROMPTS["json"]}, headers=auth())
        ).status_code == 200
        streamed = await http.post("/v1/chat/stream", json={"message": PROMPTS["sse"]}, headers=auth(KEY_B))
        assert streamed.status_code == 200
        await http.post(
            "/v1/chat", json={"message": "hi"}, headers={"Authorization": f"Bearer {WRONG_KEYS[0]}"}
        )
        await http.get("/v1/agents", headers={"X-API-Key": WRONG_KEYS[1]})
        await http.get(f"/v1/agents?api_key={KEY_A}&token={KEY_B}", headers=auth())
        failed = await http.post("/v1/chat", json={"message": PROMPTS["db"]}, headers=auth())
        assert failed.status_code == 500
        crashed = await http.post("/v1/chat/stream", json={"message": PROMPTS["crash"]}, headers=auth())
        assert "run.failed" in crashed.text
        await http.put(
            "/v1/guardrails/policies/default",
            json={"name": "default", "rules": [{"type": "regex", "name": "r", "pattern": "(?:a{100}){100}"}]},
            headers=auth(KEY_A_ADMIN),
        )
    ws = base.replace("http://", "ws://") + "/v1/realtime"
    for url, protocols in [
        (f"{ws}?api_key={KEY_A}", None),
        (ws, [Subprotocol("switchboard.v1"), Subprotocol(f"bearer.{WRONG_KEYS[2]}")]),
    ]:
        async with connect(url, subprotocols=protocols, open_timeout=5) as refused:
            with pytest.raises(ConnectionClosed):
                await refused.recv()
    async with connect(
        ws, subprotocols=[Subprotocol("switchboard.v1"), Subprotocol(f"bearer.{KEY_A}")]
    ) as rt:
        await rt.recv()
        await rt.send(json.dumps({"type": "input.text", "text": PROMPTS["realtime"]}))
        while '"turn.completed"' not in await rt.recv():
            pass


async def test_no_key_and_no_prompt_in_any_log_line(tmp_path: Path) -> None:
    model = LeakyModel()
    realtime = ScriptedRealtime(model.descriptor, ScriptedSettings())

    def configure(registry: svcs.Registry) -> None:
        registry.register_value(ProviderDirectory, fake_directory(model, realtime=realtime))
        registry.register_value(SessionStore, FailingSessions())

    settings = make_settings(tmp_path, SWITCHBOARD_LOG_LEVEL="DEBUG", SWITCHBOARD_LOG_FORMAT="json")
    with captured_stderr() as logs:
        async with live_server(settings, configure=configure) as base:
            await asyncio.wait_for(_traffic(base), timeout=60)
    text = logs.getvalue()
    # the session reached every risky path: handshake lines, both tracebacks, a refused key in a URL
    assert '"WebSocket /v1/realtime?api_key=[redacted]' in text
    assert '"event":"http.unhandled"' in text and '"event":"chat.stream_failed"' in text
    assert "DBAPIError" in text and "RuntimeError" in text and "Traceback" in text
    leaks = [s for s in [KEY_A, KEY_B, KEY_A_ADMIN, *WRONG_KEYS, *PROMPTS.values()] if s in text]
    assert leaks == [], [line for line in text.splitlines() if any(s in line for s in leaks)][:5]
