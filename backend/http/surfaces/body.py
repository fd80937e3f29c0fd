"""A protocol surface's JSON body: Litestar decodes it into the surface's typed struct (the handler's
``data``, documented in OpenAPI); ``raw_json`` gives it once more as a dict, kept whole for pass-through and
vendor extras. Errors are ``InvalidRequest``, in the surface's envelope; ``invalid_body`` turns Litestar's
validation errors into one naming the parameter."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from contracts.errors import InvalidRequest

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


async def raw_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The body (already read and validated by Litestar into the handler's ``data``) once more as a dict:
    every field the client sent, for pass-through and vendor extras."""
    try:
        return _decode_object(await request.body())
    except msgspec.DecodeError:
        raise InvalidRequest("the request body is not a JSON object", field="body") from None


def invalid_body(exc: ValidationException) -> InvalidRequest:
    """Litestar's validation error on ``data`` as one ``InvalidRequest`` naming the first bad field."""
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key, message = item.get("key"), str(item.get("message") or exc.detail)
            field = str(key) if key and key != "body" else None
            message = message[:1].lower() + message[1:]
            return InvalidRequest(f"{field}: {message}" if field else message, field=field)
    return InvalidRequest(exc.detail or "invalid request body", field="body")
