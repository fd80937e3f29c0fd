"""``AnthropicModel``: one Anthropic-kind provider instance as a ``LanguageModel`` and a
``WirePassthrough`` for ``anthropic.messages``, over its own HTTP pool.

Every call sends ``User-Agent: switchboard/<version>``, ``Content-Type: application/json``,
``anthropic-version`` (setting), ``anthropic-beta`` (only when the ``betas`` setting lists features) and,
only when a key is set, ``x-api-key``. Failures raise ``ProviderUnavailable``/``ProviderRejected``
classified as in ``adapters.providers.http.failures``; no upstream text and never the key reach a detail.

A stream closes its upstream response at once when it ends early (``aclose()``, a cancelled consumer, a
failure); after ``message_stop`` the connection goes back to the pool.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Final

import aiohttp
import msgspec
from yarl import URL

from adapters.providers.anthropic.settings import AnthropicSettings
from adapters.providers.anthropic.wire import messages
from adapters.providers.anthropic.wire.stream import MessagesStreamDecoder
from adapters.providers.http.failures import TRANSPORT_ERRORS
from adapters.providers.http.session import user_agent
from adapters.providers.http.sse import SSEParser
from adapters.providers.http.upstream import Upstream, call_headers, limits_of
from contracts.agents import ProviderHealth
from contracts.models import (
    ModelDone,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    WireAnswer,
    WireCall,
    WireFrame,
)

_OWN_HEADERS = frozenset(
    {"user-agent", "content-type", "anthropic-version", "anthropic-beta", "x-api-key", "authorization"}
)
LINGER_S: Final = 1.0
"""After ``message_stop``, how long to wait for the upstream to end the body (keeping the connection)."""


class CountW(msgspec.Struct, gc=False):
    input_tokens: int


_encode_json = msgspec.json.Encoder().encode
_decode_count = msgspec.json.Decoder(CountW).decode


def _frame(event: str, data: bytes) -> bytes:
    """An SSE frame for one upstream event (every Messages event is named)."""
    if event and event != "message":
        return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


class AnthropicModel:
    """``LanguageModel`` of one Anthropic-kind instance named ``name``; ``request.model`` empty means the
    instance's default ``settings.model``. ``headers``: more headers for every call (a gateway's routing
    header); they cannot replace the ones above. Call ``aclose`` when the instance is dropped."""

    def __init__(
        self, name: str, settings: AnthropicSettings, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self._name = name
        self._default_model = settings.model
        self._max_tokens = settings.max_tokens
        own = {
            "User-Agent": user_agent(),
            "Content-Type": "application/json",
            "anthropic-version": settings.anthropic_version,
        }
        if settings.beta_header():
            own["anthropic-beta"] = settings.beta_header()
        if settings.api_key:
            own["x-api-key"] = settings.api_key
        headers_sent = call_headers(own, headers, reserved=_OWN_HEADERS)
        self._http = Upstream(name, settings.api_key, limits_of(settings), headers_sent)
        base = settings.base_url.rstrip("/")
        self.base_url = base
        self._url = URL(base + messages.PATH)
        self._count_url = URL(base + messages.COUNT_PATH)
        self._models_url = URL(base + "/v1/models")

    @property
    def name(self) -> str:
        """The provider instance."""
        return self._name

    def __repr__(self) -> str:
        return f"AnthropicModel(name={self._name!r}, url={str(self._url)!r})"

    # -- the neutral call ----------------------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """One whole answer within ``timeout_s``."""
        body, tool = messages.encode_request(
            request, request.model or self._default_model, stream=False, max_tokens=self._max_tokens
        )
        payload = await self._http.post(self._url, body)
        try:
            return messages.decode_answer(self._name, payload, tool)
        except TRANSPORT_ERRORS as exc:
            raise self._http.broken(exc) from exc

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        """Deltas as they arrive, then one ``ModelDone``; silence over ``stream_idle_timeout_s`` fails as
        ``stalled``, an end before ``message_stop`` as ``dropped``."""
        body, tool = messages.encode_request(
            request, request.model or self._default_model, stream=True, max_tokens=self._max_tokens
        )
        decoder = MessagesStreamDecoder(self._name, tool)
        async for _frame_bytes, events in self._read_stream(body, decoder):
            for event in events:
                yield event

    # -- pass-through: the client's Messages body as it came -----------------------------------------------

    def speaks(self, protocol: str) -> bool:
        """``anthropic.messages`` only."""
        return protocol == messages.PROTOCOL

    def _passed(self, call: WireCall, model: str, *, stream: bool) -> bytes:
        fields: dict[str, Any] = {**call.body, "model": model, "stream": stream}
        if "max_tokens" not in fields:
            fields["max_tokens"] = self._max_tokens
        return _encode_json(fields)

    async def forward(self, call: WireCall, model: str) -> WireAnswer:
        """The client's body with ``model`` replaced, POSTed as is; the upstream's JSON relayed as it came."""
        payload = await self._http.post(self._url, self._passed(call, model, stream=False))
        try:
            return WireAnswer(body=payload, response=messages.decode_answer(self._name, payload))
        except TRANSPORT_ERRORS as exc:
            raise self._http.broken(exc) from exc

    async def forward_stream(self, call: WireCall, model: str) -> AsyncGenerator[WireFrame, None]:
        """The client's body streamed, each upstream event relayed as a frame with the neutral events it
        carries; the last frame's events end with ``ModelDone``."""
        decoder = MessagesStreamDecoder(self._name)
        async for frame, events in self._read_stream(self._passed(call, model, stream=True), decoder):
            yield WireFrame(data=frame, events=events)

    async def count_tokens(self, call: WireCall, model: str) -> int:
        """``POST /v1/messages/count_tokens`` with the client's body (model replaced; the fields that
        endpoint refuses are left out): the upstream's own count."""
        fields = {k: v for k, v in call.body.items() if k in _COUNTED}
        payload = await self._http.post(self._count_url, _encode_json({**fields, "model": model}))
        try:
            return _decode_count(payload).input_tokens
        except TRANSPORT_ERRORS as exc:
            raise self._http.broken(exc) from exc

    # -- HTTP ----------------------------------------------------------------------------------------------

    async def _read_stream(
        self, body: bytes, decoder: MessagesStreamDecoder
    ) -> AsyncGenerator[tuple[bytes, tuple[ModelEvent, ...]], None]:
        """Each upstream SSE event as (its frame, the neutral events it carries); the last pair carries
        ``ModelDone`` with the assembled answer."""
        http = self._http
        response = await http.open_stream(self._url, body)
        released = False
        try:
            content, parser, lingering = response.content, SSEParser(), False
            last: tuple[bytes, tuple[ModelEvent, ...]] | None = None
            while True:
                try:
                    chunk = await content.readany()
                except aiohttp.SocketTimeoutError:
                    if decoder.done:
                        break
                    raise
                for event, data in parser.feed(chunk) if chunk else parser.close():
                    if decoder.done:
                        break
                    pair = (_frame(event, data), decoder.feed(event, data))
                    if decoder.done:
                        last = pair  # message_stop goes out with the answer, in one frame
                        continue
                    yield pair
                if not chunk:
                    break
                if decoder.done and not lingering:
                    lingering = True
                    http.session.watch_idle(response, LINGER_S)
            result = decoder.result()
            response.release()
            released = True
            frame, events = last if last is not None else (b"", ())
            yield frame, (*events, ModelDone(response=result))
        except TRANSPORT_ERRORS as exc:
            raise http.broken(exc, streaming=True) from exc
        finally:
            if not released:
                response.close()

    async def ping(self) -> ProviderHealth:
        """``GET /v1/models`` with a short timeout: reachable and accepting our credentials (no tokens)."""
        return await self._http.ping(self._models_url)

    async def aclose(self) -> None:
        """Close the pooled connections (safe to call twice)."""
        await self._http.aclose()


_COUNTED: Final = frozenset(
    {"messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "context_management"}
)
"""Body fields ``/v1/messages/count_tokens`` accepts (besides ``model``)."""
