"""The mock upstream's aiohttp application, and running it in-process (``running_mock``).

Routes: ``POST /v1/chat/completions``, ``POST /v1/responses``, ``POST /v1/messages`` and
``POST /v1/messages/count_tokens`` (Anthropic: point an Anthropic-kind instance's base URL at ``url``),
``POST /v1/moderations``, ``POST /v1/embeddings``,
``GET /v1/models``, ``GET /v1/realtime`` (WebSocket), ``GET /_mock/requests`` (the ``RequestRecord``
list as JSON), ``POST /_mock/reset`` (clear it). It listens on 127.0.0.1 only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from aiohttp import web

from ops.mock_upstream.embeddings import Embeddings
from ops.mock_upstream.faults import MockConfig
from ops.mock_upstream.generation import Generation
from ops.mock_upstream.moderation import Moderations
from ops.mock_upstream.realtime import realtime_handler
from ops.mock_upstream.recording import Recorder, RequestRecord

HOST = "127.0.0.1"


class MockUpstream:
    """One mock server: its config, what it recorded, and (once started) its address."""

    def __init__(self, config: MockConfig | None = None) -> None:
        self.config = config or MockConfig()
        self.recorder = Recorder()
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no path)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request recorded so far (the live list)."""
        return self.recorder.records

    def requests_to(self, path: str) -> list[RequestRecord]:
        """Records of requests to ``path`` (e.g. ``/v1/responses``)."""
        return [r for r in self.recorder.records if r.path == path]

    def reset(self) -> None:
        """Forget every record."""
        self.recorder.reset()

    def app(self) -> web.Application:
        """The aiohttp application serving every route."""
        generation = Generation(self.config, self.recorder)
        moderations = Moderations(self.recorder)
        embeddings = Embeddings(self.recorder)

        async def realtime(request: web.Request) -> web.WebSocketResponse:
            return await realtime_handler(request, self.config, self.recorder)

        async def list_requests(_request: web.Request) -> web.Response:
            return web.Response(
                body=msgspec.json.encode(self.recorder.records), content_type="application/json"
            )

        async def reset(_request: web.Request) -> web.Response:
            self.reset()
            return web.Response(status=204)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", generation.chat_completions)
        app.router.add_post("/v1/responses", generation.responses)
        app.router.add_post("/v1/messages", generation.messages)
        app.router.add_post("/v1/messages/count_tokens", generation.count_tokens)
        app.router.add_post("/v1/moderations", moderations.moderations)
        app.router.add_post("/v1/embeddings", embeddings.embeddings)
        app.router.add_get("/v1/models", moderations.models)
        app.router.add_get("/v1/realtime", realtime)
        app.router.add_get("/_mock/requests", list_requests)
        app.router.add_post("/_mock/reset", reset)
        return app

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1:``port`` (0: a free port, then read ``self.port``)."""
        self._runner = web.AppRunner(
            self.app(), handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@asynccontextmanager
async def running_mock(port: int = 0, config: MockConfig | None = None) -> AsyncIterator[MockUpstream]:
    """Run a mock upstream in this event loop: ``async with running_mock() as mock: mock.base_url``."""
    mock = MockUpstream(config)
    await mock.start(port)
    try:
        yield mock
    finally:
        await mock.stop()
