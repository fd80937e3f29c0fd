"""``GET /v1/models`` (OpenAI's list format): every route alias, provider name and ``provider/model`` pair
a key may name, and ``GET /v1/models/{id}`` for one (404 ``model_not_found`` otherwise). A plain upstream
model name that is not listed still works (it goes to the default provider: docs/openai-compatibility.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter

from backend.http.auth import GUARDS, provide_principal, require
from backend.http.surfaces.openai_errors import OPENAI_EXCEPTION_HANDLERS
from backend.http.surfaces.openapi_docs import openai_responses
from backend.http.svcs_plugin import Injected, port
from contracts.auth import SCOPE_READ, Principal
from contracts.errors import NotFound
from contracts.ports import ProviderDirectory

CREATED = 1_700_000_000
_encode = msgspec.json.Encoder().encode


class ModelOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model"
    created: int = CREATED
    owned_by: str


class ModelListOut(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[ModelOut]


def _owner(name: str, providers: ProviderDirectory) -> str:
    head = name.split("/", 1)[0]
    return head if head in providers.names() else "switchboard"


class OpenAIModelsController(Controller):
    path = "/v1/models"
    guards = GUARDS
    tags = ["openai"]
    dependencies = {"principal": provide_principal, "providers": port(ProviderDirectory)}
    exception_handlers = OPENAI_EXCEPTION_HANDLERS

    @get(
        "/",
        summary="Models a client may name (routes, providers, provider/model pairs)",
        responses=openai_responses(ModelListOut),
    )
    async def list_models(
        self, principal: NamedDependency[Principal], providers: Injected[ProviderDirectory]
    ) -> Response[bytes]:
        require(principal, SCOPE_READ)
        data = [ModelOut(id=name, owned_by=_owner(name, providers)) for name in providers.models()]
        return Response(_encode(ModelListOut(data=data)), media_type="application/json")

    @get("/{model_id:path}", summary="One model a client may name", responses=openai_responses(ModelOut))
    async def get_model(
        self,
        model_id: Annotated[str, PathParameter()],
        principal: NamedDependency[Principal],
        providers: Injected[ProviderDirectory],
    ) -> Response[bytes]:
        require(principal, SCOPE_READ)
        name = model_id.lstrip("/")
        if name not in providers.models():
            raise NotFound("model", name if len(name) <= 256 else name[:256] + "...")
        return Response(
            _encode(ModelOut(id=name, owned_by=_owner(name, providers))), media_type="application/json"
        )
