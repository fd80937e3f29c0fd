"""A ``switchboard serve`` process in a directory of its own whose ``.env`` a test rewrites, for the live
reload tests (tests/e2e/test_live_reload.py, tests/integration/test_reload_notices.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.stack import Process, _clean_env, _spawn, _wait_mock, _wait_ready
from tests.support.app import REPO, free_port

KEY = "reload-chat-key"
OPERATOR = "reload-operator-key"
STARTUP_S = 90.0
SETTLE_S = 20.0
STREAM_S = 30.0
"""A stream that outlives a reload must end well within this (a regression would hang it)."""
BACKUP = {"SWITCHBOARD_PROVIDERS": "scripted,backup", "SWITCHBOARD_PROVIDER_BACKUP_KIND": "scripted"}


@dataclass
class Service:
    """A served directory: its ``.env``, the process and its URL."""

    workdir: Path
    process: Process
    url: str
    base: dict[str, str]

    def write_env(self, **changes: str) -> None:
        lines = [f"{name}={value}" for name, value in {**self.base, **changes}.items()]
        (self.workdir / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def providers(self) -> dict[str, Any]:
        """``GET /v1/providers`` on a fresh connection (with several workers: any of them)."""
        response = httpx.get(f"{self.url}/v1/providers", headers=bearer(), timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def names(self) -> list[str]:
        return [p["name"] for p in self.providers()["data"]]

    def wait_for(self, names: list[str], *, samples: int = 1) -> dict[str, Any]:
        """Poll until ``samples`` answers in a row list exactly ``names``."""
        deadline, streak = time.monotonic() + SETTLE_S, 0
        body = self.providers()
        while time.monotonic() < deadline:
            body = self.providers()
            streak = streak + 1 if [p["name"] for p in body["data"]] == names else 0
            if streak >= samples:
                return body
            time.sleep(0.05)
        raise AssertionError(f"providers still {[p['name'] for p in body['data']]}, wanted {names}")

    def reload_cli(self) -> subprocess.CompletedProcess[str]:
        key_file = self.workdir / "operator.key"
        key_file.write_text(OPERATOR + "\n", encoding="utf-8")
        return subprocess.run(
            [sys.executable, "-m", "ops", "reload", "--url", self.url, "--key-file", str(key_file)],
            cwd=self.workdir,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def log(self) -> str:
        return self.process.tail("stdout", 20000) + self.process.tail("stderr", 20000)


def bearer(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def serving(
    tmp: Path,
    extra: dict[str, str] | None = None,
    *,
    workers: int = 1,
    process_env: dict[str, str] | None = None,
) -> Iterator[Service]:
    """``switchboard serve`` in ``tmp`` with a ``.env`` there (scripted provider, a chat key and an
    operator key, plus ``extra``); always stopped."""
    base = {
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_API_KEYS": f"{KEY}:e2e:chat+admin,{OPERATOR}:ops:operator",
        "SWITCHBOARD_VAR_DIR": str(tmp / "var"),
        "SWITCHBOARD_AGENTS_FILE": str(REPO / "config/agents.toml"),
        "SWITCHBOARD_GUARDRAILS_FILE": str(REPO / "config/guardrails.toml"),
        "SWITCHBOARD_LOG_FORMAT": "json",
        "SWITCHBOARD_PROVIDERS": "scripted",
        **(extra or {}),
    }
    port = free_port()
    service = Service(tmp, None, f"http://127.0.0.1:{port}", base)  # type: ignore[arg-type]
    service.write_env()
    args = ["-m", "ops", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    service.process = _spawn("service", args, {**_clean_env(), **(process_env or {})}, tmp)
    try:
        _wait_ready(service.process, service.url, time.monotonic() + STARTUP_S)
        yield service
    finally:
        service.process.stop()


@contextmanager
def mock(tmp: Path, name: str, *args: str) -> Iterator[str]:
    """A mock OpenAI-compatible upstream (``python -m ops.mock_upstream``); yields its base URL."""
    process = _spawn(name, ["-m", "ops.mock_upstream", "--port", "0", *args], _clean_env(), tmp)
    try:
        yield _wait_mock(process, time.monotonic() + STARTUP_S)
    finally:
        process.stop()


def openai_instance(name: str, url: str) -> dict[str, str]:
    prefix = f"SWITCHBOARD_PROVIDER_{name.upper()}_"
    return {
        f"{prefix}KIND": "openai",
        f"{prefix}BASE_URL": f"{url}/v1",
        f"{prefix}API_MODE": "chat_completions",
    }


def received(url: str) -> int:
    return len(httpx.get(f"{url}/_mock/requests", timeout=5).json())


def chat(service: Service, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{service.url}/v1/chat", json={"message": "hello", **body}, headers=bearer(), timeout=30
    )


async def stream_chat(url: str, body: dict[str, Any], started: asyncio.Event) -> str:
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream("POST", f"{url}/v1/chat/stream", json=body, headers=bearer()) as response,
    ):
        assert response.status_code == 200, await response.aread()
        text = ""
        async for chunk in response.aiter_text():
            text += chunk
            if "event: text.delta" in text:
                started.set()
        return text
