"""``OpenAIEmbeddings``: ``POST /embeddings`` on an OpenAI-kind instance's pool (the ``EmbeddingModel`` port).

Sends ``model``, ``input`` (a list), ``dimensions`` when asked, ``encoding_format: "float"`` and ``user``;
decodes ``data[].embedding`` in ``index`` order and ``usage.prompt_tokens``. Failures are classified like
every model call, never with the upstream's text or the key.
"""

from __future__ import annotations

import msgspec

from adapters.providers.http.failures import failure
from adapters.providers.http.upstream import Upstream
from contracts.models import EmbeddingRequest, EmbeddingResponse
from contracts.usage import Usage


class _BodyW(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    model: str
    input: list[str]
    encoding_format: str
    dimensions: int | None = None
    user: str | None = None


class _ItemW(msgspec.Struct, gc=False):
    embedding: list[float]
    index: int = 0


class _UsageW(msgspec.Struct, gc=False):
    prompt_tokens: int = 0
    total_tokens: int = 0


class _AnswerW(msgspec.Struct, gc=False):
    data: list[_ItemW] = []
    model: str | None = None
    usage: _UsageW | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_AnswerW).decode


class OpenAIEmbeddings:
    """Implements ``EmbeddingModel`` for one instance; ``default_model`` when the request names none."""

    def __init__(self, http: Upstream, base_url: str, default_model: str) -> None:
        self._provider = http.name
        self._http = http
        self._url = base_url.rstrip("/") + "/embeddings"
        self._default_model = default_model

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        body = _BodyW(
            model=request.model or self._default_model,
            input=list(request.inputs),
            encoding_format="float",
            dimensions=request.dimensions,
            user=request.user,
        )
        payload = await self._http.post(self._url, _encode(body))
        try:
            answer = _decode(payload)
        except msgspec.DecodeError:
            raise failure(
                self._provider, "malformed", phrase="upstream answered with a body that is not JSON"
            ) from None
        if len(answer.data) != len(request.inputs):
            raise failure(
                self._provider, "malformed", phrase="upstream answered a different number of vectors"
            )
        items = sorted(answer.data, key=lambda item: item.index)
        tokens = answer.usage.prompt_tokens if answer.usage else 0
        return EmbeddingResponse(
            vectors=tuple(tuple(item.embedding) for item in items),
            usage=Usage(input_tokens=tokens, total_tokens=tokens),
            provider=self._provider,
            model=answer.model or body.model,
        )
