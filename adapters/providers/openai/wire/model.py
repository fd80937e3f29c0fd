"""``OpenAIModel``: one OpenAI-kind provider instance as a ``LanguageModel``, over its own HTTP pool.

The instance's ``api_mode`` picks the wire format (Chat Completions or Responses). Every call sends
``User-Agent: switchboard/<version>``, ``Content-Type: application/json`` and, only when a key is set,
``Authorization: Bearer <key>``. Failures raise ``ProviderUnavailable``/``ProviderRejected`` classified as
in ``adapters.providers.http.failures``; no upstream text and never the key reach a detail.

A stream closes its upstream response at once when it ends early: ``aclose()`` on the iterator, a
cancelled consumer, or a failure (the cleanup is synchronous, so a second cancellation cannot skip it).
After a complete answer the connection goes back to the pool.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

import aiohttp
import msgspec
from yarl import URL

from adapters.providers.http.failures import TRANSPORT_ERRORS
from adapters.providers.http.session import user_agent
from adapters.providers.http.sse import SSEParser
from adapters.providers.http.upstream import Upstream, call_headers, limits_of
from adapters.providers.openai.settings import OpenAISettings
from adapters.providers.openai.wire import chat_completions, responses
from adapters.providers.openai.wire.chat_stream import ChatStreamDecoder
from adapters.providers.openai.wire.responses_stream import ResponsesStreamDecoder
from contracts.agents import ProviderHealth
from contracts.models import (
    PROTOCOL_OPENAI_CHAT,
    PROTOCOL_OPENAI_RESPONSES,
    ModelDone,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    WireAnswer,
    WireCall,
    WireFrame,
)

_OWN_HEADERS = frozenset({"user-agent", "content-type", "authorization"})
LINGER_S: Final = 1.0
"""After a stream's final event, how long to wait for the upstream to end the body (keeping the
connection for reuse) before closing it: the answer is complete either way."""


class StreamDecoder(Protocol):
    """One stream's decoding state (``ChatStreamDecoder``, ``ResponsesStreamDecoder``)."""

    done: bool
    terminal: bool

    def feed(self, event: str, data: bytes) -> tuple[ModelEvent, ...]: ...

    def result(self) -> ModelResponse: ...


class Encode(Protocol):
    def __call__(self, request: ModelRequest, model: str, *, stream: bool, provider: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class WireFormat:
    """One OpenAI API: its path, body encoder, answer decoder and stream decoder."""

    path: str
    encode: Encode
    decode: Callable[[str, bytes], ModelResponse]
    stream_decoder: Callable[[str], StreamDecoder]


FORMATS: Final[dict[str, WireFormat]] = {
    "chat_completions": WireFormat(
        chat_completions.PATH,
        chat_completions.encode_request,
        chat_completions.decode_answer,
        ChatStreamDecoder,
    ),
    "responses": WireFormat(
        responses.PATH, responses.encode_request, responses.decode_answer, ResponsesStreamDecoder
    ),
}


PROTOCOLS: Final = {"chat_completions": PROTOCOL_OPENAI_CHAT, "responses": PROTOCOL_OPENAI_RESPONSES}
_encode_json = msgspec.json.Encoder().encode
_DONE_FRAME: Final = b"data: [DONE]\n\n"


def _frame(event: str, data: bytes) -> bytes:
    """An SSE frame for one upstream event (``event:`` only when the upstream named it)."""
    if event and event != "message":
        return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


class OpenAIModel:
    """``LanguageModel`` of one OpenAI-kind instance named ``name``; ``request.model`` empty means the
    instance's default ``settings.model``. ``headers``: more headers for every call (an organisation or
    project id, a gateway's routing header); they cannot replace the three above. Call ``aclose`` when
    the instance is dropped."""

    def __init__(
        self, name: str, settings: OpenAISettings, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self._name = name
        self._default_model = settings.model
        self._format = FORMATS[settings.api_mode]
        self._protocol = PROTOCOLS[settings.api_mode]
        own = {"User-Agent": user_agent(), "Content-Type": "application/json"}
        if settings.api_key:
            own["Authorization"] = f"Bearer {settings.api_key}"
        headers_sent = call_headers(own, headers, reserved=_OWN_HEADERS)
        self._http = Upstream(name, settings.api_key, limits_of(settings), headers_sent)
        base = settings.base_url.rstrip("/")
        self.base_url = base
        self._url = URL(base + self._format.path)
        self._models_url = URL(base + "/models")

    @property
    def name(self) -> str:
        """The provider instance."""
        return self._name

    @property
    def http(self) -> Upstream:
        """The instance's HTTP edge (moderation and embeddings share it)."""
        return self._http

    def __repr__(self) -> str:
        return f"OpenAIModel(name={self._name!r}, url={str(self._url)!r})"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """One whole answer within ``timeout_s``."""
        wire = self._format
        body = wire.encode(request, request.model or self._default_model, stream=False, provider=self._name)
        payload = await self._http.post(self._url, body)
        try:
            return wire.decode(self._name, payload)
        except TRANSPORT_ERRORS as exc:
            raise self._http.broken(exc) from exc

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        """Deltas as they arrive, then one ``ModelDone``; silence over ``stream_idle_timeout_s`` between
        chunks fails as ``stalled``, an end before the final chunk/event as ``dropped``."""
        wire = self._format
        body = wire.encode(request, request.model or self._default_model, stream=True, provider=self._name)
        async for _frame, events in self._read_stream(self._url, body):
            for event in events:
                yield event

    # -- pass-through: the client's body in this instance's own protocol ---------------------------------

    def speaks(self, protocol: str) -> bool:
        """The protocol of this instance's API mode (``openai.chat`` or ``openai.responses``)."""
        return protocol == self._protocol

    async def forward(self, call: WireCall, model: str) -> WireAnswer:
        """The client's body with ``model`` replaced, POSTed as is; the upstream's JSON relayed as it came."""
        payload = await self._http.post(
            self._url, _encode_json({**call.body, "model": model, "stream": False})
        )
        try:
            return WireAnswer(body=payload, response=self._format.decode(self._name, payload))
        except TRANSPORT_ERRORS as exc:
            raise self._http.broken(exc) from exc

    async def forward_stream(self, call: WireCall, model: str) -> AsyncGenerator[WireFrame, None]:
        """The client's body streamed (usage asked for on Chat Completions), each upstream event relayed
        as a frame with the neutral events it carries; the last frame's events end with ``ModelDone``."""
        fields: dict[str, object] = {**call.body, "model": model, "stream": True}
        if self._protocol == PROTOCOL_OPENAI_CHAT:
            given = call.body.get("stream_options")
            fields["stream_options"] = (
                {**given, "include_usage": True} if isinstance(given, dict) else {"include_usage": True}
            )
        async for frame, events in self._read_stream(self._url, _encode_json(fields)):
            yield WireFrame(data=frame, events=events)

    # -- the stream reader shared by both ------------------------------------------------------------------

    async def _read_stream(
        self, url: URL, body: bytes
    ) -> AsyncGenerator[tuple[bytes, tuple[ModelEvent, ...]], None]:
        """Each upstream SSE event as (its frame, the neutral events it carries); a final
        ``(b"", (ModelDone,))`` when the answer is complete."""
        http = self._http
        decoder = self._format.stream_decoder(self._name)
        response = await http.open_stream(url, body)
        released = False
        try:
            content, parser, lingering = response.content, SSEParser(), False
            while True:
                try:
                    chunk = await content.readany()
                except aiohttp.SocketTimeoutError:
                    if decoder.done:
                        break
                    raise
                for event, data in parser.feed(chunk) if chunk else parser.close():
                    if decoder.done:
                        if data == b"[DONE]":
                            yield _DONE_FRAME, ()
                        break
                    yield _frame(event, data), decoder.feed(event, data)
                if not chunk:
                    break
                if decoder.done and not lingering:
                    lingering = True
                    http.session.watch_idle(response, LINGER_S)
            result = decoder.result()
            response.release()
            released = True
            yield b"", (ModelDone(response=result),)
        except TRANSPORT_ERRORS as exc:
            raise http.broken(exc, streaming=True) from exc
        finally:
            if not released:
                response.close()

    async def ping(self) -> ProviderHealth:
        """``GET /models`` with a short timeout: reachable and accepting our credentials (no tokens)."""
        return await self._http.ping(self._models_url)

    async def aclose(self) -> None:
        """Close the pooled connections (safe to call twice)."""
        await self._http.aclose()
