"""What both OpenAI wire formats share: tool-call arguments and ids (request bodies with ``extras`` merged
come from ``adapters.providers.http.body``, shared with every kind)."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from adapters.providers.http.body import RESERVED_EXTRAS, encode_body
from adapters.providers.http.failures import failure
from contracts.errors import ProviderUnavailable

__all__ = [
    "RESERVED_EXTRAS",
    "bad_arguments",
    "decode_arguments",
    "encode_arguments",
    "encode_body",
    "new_call_id",
]

_encode = msgspec.json.encode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


def encode_arguments(arguments: dict[str, Any]) -> str:
    """Tool-call arguments as the JSON text OpenAI formats carry."""
    return _encode(arguments).decode()


def decode_arguments(provider: str, text: str) -> dict[str, Any]:
    """Tool-call arguments a model produced; empty means ``{}``. Anything but a JSON object is a
    ``malformed`` failure."""
    if not text or text.isspace():
        return {}
    try:
        return _decode_object(text)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise bad_arguments(provider) from None


def bad_arguments(provider: str) -> ProviderUnavailable:
    return failure(
        provider, "malformed", phrase="upstream sent tool-call arguments that are not a JSON object"
    )


def new_call_id() -> str:
    """A unique tool-call id, for an upstream that sent none (ids must stay unique across a history)."""
    return f"call_{secrets.token_hex(12)}"
