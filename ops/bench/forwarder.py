"""The minimal forwarder: the floor of this stack (Litestar + msgspec + one pooled aiohttp session, one worker).

``uv run python -m ops.bench.forwarder --port 8300 --upstream http://127.0.0.1:8200``

``POST /v1/chat/completions``, ``/v1/responses`` and ``/v1/messages`` decode the body, rewrite ``model``
(and ask for usage on streamed chat completions, as a pass-through must), forward it to the same path of the
upstream and relay the answer: JSON bytes as they came, or the SSE bytes chunk by chunk. ``GET /health``: 200.
No auth, no limits, no accounting: whatever the service adds on top of this is its overhead.
"""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.response import Stream

UPSTREAM_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer x", "x-api-key": "x"}


def create_app(upstream: str, model: str) -> Litestar:
    session: aiohttp.ClientSession | None = None

    async def open_session() -> None:
        nonlocal session
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=timeout, auto_decompress=False
        )

    async def close_session() -> None:
        if session is not None:
            await session.close()

    async def forward(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
        assert session is not None
        body = msgspec.json.decode(await request.body())
        body["model"] = model
        streamed = body.get("stream") is True
        if streamed and request.url.path == "/v1/chat/completions":
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        answer = await session.post(
            upstream + request.url.path, data=msgspec.json.encode(body), headers=UPSTREAM_HEADERS
        )
        media_type = answer.headers.get("Content-Type", "application/json")
        if not streamed:
            async with answer:
                return Response(await answer.read(), status_code=answer.status, media_type=media_type)

        async def relay() -> Any:
            async with answer:
                async for chunk in answer.content.iter_any():
                    yield chunk

        return Stream(relay(), status_code=answer.status, media_type=media_type)

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    paths = ["/v1/chat/completions", "/v1/responses", "/v1/messages"]
    route = post(paths, status_code=200)(forward)
    return Litestar(
        [route, health], on_startup=[open_session], on_shutdown=[close_session], openapi_config=None
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bench.forwarder", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--upstream", default="http://127.0.0.1:8200", help="upstream origin (no /v1)")
    parser.add_argument("--model", default="bench-model", help="the model name written into every body")
    args = parser.parse_args()
    import uvicorn

    app = create_app(args.upstream.rstrip("/"), args.model)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
