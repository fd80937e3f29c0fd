"""Build the real app on embedded defaults in a temp directory, with known API keys."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import svcs
import uvicorn
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.serving.options import uvicorn_options
from backend.settings import Settings, load_settings

KEY_A = "key-tenant-a"
KEY_A_ADMIN = "key-tenant-a-admin"
KEY_B = "key-tenant-b"
KEY_NO_SCOPE = "key-tenant-a-readonly"
API_KEYS = ",".join(
    [
        f"{KEY_A}:tenant-a:chat",
        f"{KEY_A_ADMIN}:tenant-a:chat+admin",
        f"{KEY_B}:tenant-b:chat",
        f"{KEY_NO_SCOPE}:tenant-a:read",
    ]
)
REPO = Path(__file__).resolve().parents[2]


def auth(key: str = KEY_A) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_settings(tmp_path: Path, **env: str) -> Settings:
    base = {
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_VAR_DIR": str(tmp_path / "var"),
        "SWITCHBOARD_API_KEYS": API_KEYS,
        "SWITCHBOARD_AGENTS_FILE": str(REPO / "config/agents.toml"),
        "SWITCHBOARD_GUARDRAILS_FILE": str(REPO / "config/guardrails.toml"),
        "SWITCHBOARD_LOG_FORMAT": "json",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        # many apps share one test process: freezing each one's heap would keep it forever
        "SWITCHBOARD_GC_FREEZE": "false",
        "SWITCHBOARD_GC_GEN0_THRESHOLD": "0",
    }
    base.update(env)
    return load_settings(base, dotenv=None)


@contextlib.asynccontextmanager
async def app_client(
    settings: Settings, configure: Callable[[svcs.Registry], Any] | None = None
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings, configure=configure)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def live_server(
    settings: Settings, configure: Callable[[svcs.Registry], Any] | None = None
) -> AsyncIterator[str]:
    """A real uvicorn server in this event loop on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, configure=configure),
        host="127.0.0.1",
        port=port,
        **uvicorn_options(settings.server),  # the hardened protocol, as `switchboard serve` runs it
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
