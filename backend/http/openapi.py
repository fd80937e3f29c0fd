"""The OpenAPI document, true to what the service does.

Litestar generates operations from the handlers; this module adds what it cannot know:

- every error a route can answer, as ``application/problem+json`` with the ``Problem`` schema (declared
  per handler with ``problems(...)``), replacing Litestar's generic 400;
- ``Retry-After`` on 429 and 503 and the ``RateLimit-*`` headers on ``/v1`` answers;
- both ways to present a key: ``Authorization: Bearer`` and ``X-API-Key`` (security schemes), and no
  security on the health routes.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType

from backend.http.problems import PROBLEM_JSON, Problem

DESCRIPTIONS = {
    400: "Invalid request: malformed or empty JSON, a wrong type, an unknown field, a bad parameter",
    401: "No API key, or an invalid, expired or revoked one",
    403: "The API key lacks the scope this route needs",
    404: "Not found, or owned by another tenant",
    413: "The request body is over SWITCHBOARD_MAX_BODY_BYTES",
    415: "The request body is not JSON",
    422: "Well-formed but impossible: unknown agent or provider, invalid policy, blocked by a guardrail",
    429: "A limit of this API key was reached; retry after Retry-After seconds",
    502: "The provider failed and retrying will not help",
    503: "A store or the provider is unavailable; retry after Retry-After seconds when given",
}
AUTHENTICATED = (400, 401, 429, 503)
"""What any authenticated ``/v1`` route may answer (a bad parameter, auth, the key's limit, a store down)."""

SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "bearer": SecurityScheme(type="http", scheme="bearer", description="Authorization: Bearer <API key>"),
    "api_key": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
}
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"api_key": []}]


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """``responses=`` for a handler: the listed statuses plus those of every authenticated route."""
    return {
        code: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=DESCRIPTIONS[code],
            generate_examples=False,
        )
        for code in sorted({*AUTHENTICATED, *codes})
    }


def _header(description: str) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), description=description)


RETRY_AFTER = _header("Seconds to wait before retrying")
RATE_LIMIT = {
    "RateLimit-Limit": _header("Requests per minute allowed for this key"),
    "RateLimit-Remaining": _header("Requests left in the current window"),
    "RateLimit-Reset": _header("Seconds until the window frees a request"),
}


def _closed_schemas(document: OpenAPI) -> None:
    """Bodies that refuse unknown fields (``forbid_unknown_fields``) say so: ``additionalProperties``."""
    from contracts.base import Inbound
    from contracts.guardrails import GuardrailPolicy

    closed = {cls.__name__ for cls in _subclasses(Inbound)} | {GuardrailPolicy.__name__}
    for name, schema in ((document.components.schemas or {}) if document.components else {}).items():
        short = name.rsplit("_", 1)[-1].rsplit(".", 1)[-1]
        if isinstance(schema, Schema) and (name in closed or short in closed):
            schema.additional_properties = False


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    sub: type
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


_CONSTRAINTS = {
    "minItems": "min_items",
    "maxItems": "max_items",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "pattern": "pattern",
}


def _union_constraints(document: OpenAPI) -> None:
    """Litestar drops the constraints of a union's members (``str | Annotated[list[str],
    Meta(min_length=1)]`` is documented as any string or any array); msgspec's own JSON schema keeps them.
    Copy them back onto the matching member (same ``type``) of each ``oneOf``, for every component that is
    exactly one msgspec Struct of that name."""
    import msgspec

    by_name: dict[str, list[type[msgspec.Struct]]] = {}
    for cls in _subclasses(msgspec.Struct):
        by_name.setdefault(cls.__name__, []).append(cls)
    for name, schema in ((document.components.schemas or {}) if document.components else {}).items():
        classes = by_name.get(name.rsplit("_", 1)[-1].rsplit(".", 1)[-1], [])
        if len(classes) != 1 or not isinstance(schema, Schema) or not schema.properties:
            continue
        try:
            _, components = msgspec.json.schema_components([classes[0]])
        except (TypeError, ValueError):
            continue
        fields = components.get(classes[0].__name__, {}).get("properties", {})
        for field, documented in schema.properties.items():
            members = fields.get(field, {}).get("anyOf")
            if not isinstance(documented, Schema) or not documented.one_of or not members:
                continue
            for member in documented.one_of:
                if not isinstance(member, Schema) or not isinstance(member.type, OpenAPIType):
                    continue
                typed = [m for m in members if m.get("type") == member.type.value]
                for key, attribute in _CONSTRAINTS.items():
                    if len(typed) == 1 and key in typed[0] and getattr(member, attribute, None) is None:
                        setattr(member, attribute, typed[0][key])


def _streams(path: str, operation: Operation) -> None:
    """A protocol surface that streams answers 200 as ``text/event-stream`` too."""
    from backend.http.surfaces.openapi_docs import STREAMING_PATHS

    if path not in STREAMING_PATHS:
        return
    ok = (operation.responses or {}).get("200")
    if ok is None or isinstance(ok, Reference) or ok.content is None:
        return
    ok.content["text/event-stream"] = OpenAPIMediaType(schema=SSE_EVENT)


SSE_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    description="One Server-Sent Event; `data` is the JSON of the protocol's event (or `[DONE]`)",
    properties={
        "event": Schema(type=OpenAPIType.STRING),
        "data": Schema(type=OpenAPIType.STRING),
        "id": Schema(type=OpenAPIType.STRING),
        "retry": Schema(type=OpenAPIType.INTEGER),
    },
    required=["data"],
)
"""Each event of a ``text/event-stream`` answer, as SSE parsers (and schemathesis) see it."""


def finish(document: OpenAPI) -> OpenAPI:
    """Add headers and per-operation security that the handlers cannot declare."""
    _closed_schemas(document)
    _union_constraints(document)
    for path, item in (document.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            if not path.startswith("/v1"):
                operation.security = []
                continue
            _streams(path, operation)
            for status, response in (operation.responses or {}).items():
                if isinstance(response, Reference):
                    continue
                headers: dict[str, Any] = dict(response.headers or {})
                if status in ("429", "503"):
                    headers["Retry-After"] = RETRY_AFTER
                if status.startswith("2") or status == "429":
                    headers.update(RATE_LIMIT)
                response.headers = headers or None
    return document
