"""``POST /v1/embeddings``: ``input`` (a string or a list of strings), ``model`` (a route, a provider, a
``provider/model`` or an upstream embedding model; nothing: the first provider offering embeddings),
``dimensions``, ``encoding_format`` (``float`` or ``base64``: little-endian float32, as the ``openai``
client asks by default), ``user``. Token-id inputs are refused (400, ``input``)."""

from __future__ import annotations

import array
import base64
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import JSONBody
from msgspec import Meta

from backend.http.auth import GUARDS, require
from backend.http.surfaces.openai_errors import OPENAI_EXCEPTION_HANDLERS
from backend.http.surfaces.openapi_docs import openai_responses
from backend.http.svcs_plugin import Injected, bundle
from backend.services.completions import CompletionService
from contracts.auth import SCOPE_CHAT, Principal
from contracts.models import EmbeddingRequest

MAX_INPUTS = 2048
_encode = msgspec.json.Encoder().encode


Text = Annotated[str, Meta(max_length=1_000_000)]


class EmbeddingsIn(msgspec.Struct, kw_only=True):
    input: Text | Annotated[list[Text], Meta(min_length=1, max_length=MAX_INPUTS)]
    model: str | None = None
    dimensions: Annotated[int, Meta(ge=1)] | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None


class EmbeddingOut(msgspec.Struct, kw_only=True):
    object: str = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsageOut(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsOut(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[EmbeddingOut]
    model: str
    usage: EmbeddingUsageOut


def _inputs(given: str | list[str]) -> tuple[str, ...]:
    return (given,) if isinstance(given, str) else tuple(given)


def _vector(values: tuple[float, ...], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(array.array("f", values).tobytes()).decode()
    return list(values)


@dataclass(slots=True)
class Ports:
    principal: Principal
    completions: CompletionService


class OpenAIEmbeddingsController(Controller):
    path = "/v1/embeddings"
    guards = GUARDS
    tags = ["openai"]
    dependencies = {"ports": bundle(Ports)}
    exception_handlers = OPENAI_EXCEPTION_HANDLERS

    @post("/", status_code=200, summary="OpenAI embeddings", responses=openai_responses(EmbeddingsOut))
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[EmbeddingsIn],
        ports: Injected[Ports],
    ) -> Response[bytes]:
        principal, completions = ports.principal, ports.completions
        require(principal, SCOPE_CHAT)
        body = data
        wanted = EmbeddingRequest(
            inputs=_inputs(body.input), model=body.model or "", dimensions=body.dimensions, user=body.user
        )
        answer = await completions.embed(principal, wanted, surface="openai.embeddings")
        out = EmbeddingsOut(
            data=[
                EmbeddingOut(index=i, embedding=_vector(v, body.encoding_format))
                for i, v in enumerate(answer.vectors)
            ],
            model=answer.model,
            usage=EmbeddingUsageOut(
                prompt_tokens=answer.usage.input_tokens, total_tokens=answer.usage.input_tokens
            ),
        )
        return Response(_encode(out), media_type="application/json")
