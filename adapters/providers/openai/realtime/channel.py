"""``OpenAIRealtime``: realtime channels over the OpenAI Realtime WebSocket API (``websockets``, raw JSON).

Closing the channel closes the upstream socket; an upstream close ends ``events()`` with
``SessionClosed``, so the caller can close its own side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from adapters.providers.openai.realtime.mapping import (
    client_to_upstream,
    session_update,
    upstream_to_neutral,
    usage_of,
)
from adapters.providers.openai.settings import OpenAISettings
from contracts.agents import ProviderDescriptor
from contracts.errors import ProviderUnavailable
from contracts.realtime import (
    OutputTextDelta,
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeSessionRequest,
    SessionClosed,
    SessionStarted,
    TurnCompleted,
)

_decode = msgspec.json.Decoder(dict[str, Any]).decode


def realtime_url(base_url: str, model: str) -> str:
    """``https://host/v1`` -> ``wss://host/v1/realtime?model=<model>`` (``http`` -> ``ws``)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/realtime"
    return urlunsplit((scheme, parts.netloc, path, urlencode({"model": model}), ""))


class OpenAIRealtimeChannel:
    """One open realtime session; ``events()`` ends after ``SessionClosed``."""

    def __init__(
        self, ws: ClientConnection, descriptor: ProviderDescriptor, model: str, secret: str | None
    ) -> None:
        self._ws = ws
        self._descriptor = descriptor
        self._model = model
        self._secret = secret
        self._text: list[str] = []
        self._closed_by_client = False

    async def send(self, event: RealtimeClientEvent) -> None:
        """Forward a neutral client event upstream."""
        try:
            for upstream in client_to_upstream(event):
                await self._ws.send(msgspec.json.encode(upstream).decode())
        except (ConnectionClosed, OSError) as exc:
            raise ProviderUnavailable(
                self._descriptor.name, "realtime session is closed", retryable=True
            ) from exc

    async def events(self) -> AsyncIterator[RealtimeServerEvent]:
        """Neutral server events until either side closes, then one ``SessionClosed``."""
        reason = "upstream closed the session"
        try:
            async for message in self._ws:
                for event in self._translate(_decode(message)):
                    yield event
        except ConnectionClosed:
            reason = "upstream connection lost"
        except msgspec.DecodeError:
            reason = "upstream sent a malformed event"
        if self._closed_by_client:
            reason = "closed by client"
        yield SessionClosed(reason=reason)

    def _translate(self, event: dict[str, Any]) -> list[RealtimeServerEvent]:
        kind = event.get("type")
        if kind == "session.created":
            session = event.get("session") or {}
            return [
                SessionStarted(
                    session_id=str(session.get("id", "")), provider=self._descriptor.name, model=self._model
                )
            ]
        if kind == "response.done":
            text, self._text = "".join(self._text), []
            return [TurnCompleted(text=text, usage=usage_of(event.get("response") or {}))]
        neutral = upstream_to_neutral(event)
        if isinstance(neutral, OutputTextDelta):
            self._text.append(neutral.delta)
        return [neutral] if neutral is not None else []

    async def close(self) -> None:
        """Close the upstream socket (``events()`` then ends with ``SessionClosed``)."""
        self._closed_by_client = True
        await self._ws.close()


class OpenAIRealtime:
    """Opens realtime channels on one OpenAI provider instance."""

    def __init__(self, descriptor: ProviderDescriptor, settings: OpenAISettings) -> None:
        self._descriptor = descriptor
        self._settings = settings

    async def open(self, request: RealtimeSessionRequest) -> OpenAIRealtimeChannel:
        """Connect, configure the session (instructions, text output) and return the channel."""
        settings = self._settings
        model = request.model or settings.realtime_model
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        try:
            ws = await connect(
                realtime_url(settings.base_url, model),
                additional_headers=headers,
                open_timeout=settings.connect_timeout_s,
                max_size=None,
            )
        except (WebSocketException, OSError, TimeoutError) as exc:
            detail = f"could not open a realtime session ({type(exc).__name__})"
            raise ProviderUnavailable(self._descriptor.name, detail, retryable=True) from None
        await ws.send(msgspec.json.encode(session_update(request.instructions)).decode())
        return OpenAIRealtimeChannel(ws, self._descriptor, model, settings.api_key)
