"""The mock upstream itself, over raw HTTP (aiohttp client, no SDK): CLI, recording, faults, shapes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import msgspec

from ops.mock_upstream import MockUpstream

REPO = Path(__file__).resolve().parents[3]
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi there"}]}


async def test_records_requests_without_credentials_and_resets(mock: MockUpstream) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": "Bearer sk-secret", "x-trace": "1"}
        async with http.post(f"{mock.base_url}/chat/completions", json=CHAT, headers=headers) as response:
            body = await response.json()
        assert body["choices"][0]["message"]["content"] == "Mock answer to: hi there"
        async with http.get(f"{mock.url}/_mock/requests") as response:
            [record] = await response.json()
        assert record["path"] == "/v1/chat/completions" and record["body"] == CHAT
        assert record["completed"] and not record["closed_early"]
        assert "authorization" not in record["headers"] and record["headers"]["x-trace"] == "1"
        assert b"sk-secret" not in msgspec.json.encode(mock.requests)
        async with http.post(f"{mock.url}/_mock/reset") as response:
            assert response.status == 204
        assert mock.requests == []


async def test_429_once_per_fault_key(mock: MockUpstream) -> None:
    async with aiohttp.ClientSession() as http:
        statuses = []
        for key in ("a", "a", "b"):
            headers = {"x-mock-fault": "429-once", "x-mock-fault-key": key}
            async with http.post(f"{mock.base_url}/chat/completions", json=CHAT, headers=headers) as response:
                statuses.append((response.status, response.headers.get("Retry-After")))
    assert statuses == [(429, "1"), (200, None), (429, "1")]


async def test_streamed_chat_includes_usage_when_asked(mock: MockUpstream) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{mock.base_url}/chat/completions", json=body) as response,
    ):
        text = await response.text()
    frames = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    usage = msgspec.json.decode(frames[-2])["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (2, 5)


async def test_structured_output_and_tool_call_rules(mock: MockUpstream) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "number"}}}
    body = {
        "model": "m",
        "input": "a b c",
        "text": {"format": {"type": "json_schema", "name": "x", "schema": schema}},
    }
    tools = [{"type": "function", "name": "clock", "parameters": {"type": "object", "properties": {}}}]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{mock.base_url}/responses", json=body) as response:
            answer = await response.json()
        assert msgspec.json.decode(answer["output"][0]["content"][0]["text"]) == {
            "name": "mock name",
            "n": 3.0,
        }
        async with http.post(
            f"{mock.base_url}/responses", json={"input": "use clock", "tools": tools}
        ) as response:
            call = (await response.json())["output"][0]
    assert (call["type"], call["name"], call["arguments"]) == ("function_call", "clock", "{}")


def test_cli_prints_its_address_once_ready() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.mock_upstream", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        assert int(line.rsplit(":", 1)[1]) > 0
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
