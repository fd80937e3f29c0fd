"""The request class: JSON bodies that cannot be decoded are a 400 naming the problem, never a 500.

Litestar's ``Request.json()`` lets a ``RecursionError`` (deeply nested JSON) or a ``UnicodeDecodeError``
(invalid UTF-8) escape, and turns an empty body into ``null``, which surfaces as the cryptic
``data: 'data'``. Every JSON body of this API is read through here.

A handler whose ``data`` is a msgspec Struct gets its body decoded straight into that Struct, strictly:
Litestar would decode to Python objects and then convert them with ``strict=False``, which accepts
``"store": 0`` as ``false`` and ``"max_tokens": "5"`` as ``5`` (a vendor API refuses both, and so does
ours). One typed decode is also cheaper than a decode plus a conversion. Errors keep Litestar's shape
(``ValidationException`` with ``key``/``message`` items), so every surface words them as before.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.handlers import BaseRouteHandler

EMPTY_BODY = 'the request body is empty: send a JSON object (e.g. {"message": "hello"} for /v1/chat)'

_decoders: WeakKeyDictionary[BaseRouteHandler, msgspec.json.Decoder[Any] | None] = WeakKeyDictionary()
"""Per route handler: its strict decoder, or None (held weakly: tests build many apps in one process)."""


def _decoder(handler: BaseRouteHandler) -> msgspec.json.Decoder[Any] | None:
    try:
        return _decoders[handler]
    except KeyError:
        pass
    parameter = handler.parsed_fn_signature.parameters.get("data")
    annotation = parameter.annotation if parameter is not None else None
    decoder = None
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        decoder = msgspec.json.Decoder(annotation)
    _decoders[handler] = decoder
    return decoder


def _integral(body: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    """JSON has one number type: ``3.0`` is an integer to JSON Schema (and to JavaScript, which cannot
    tell them apart). Read floats without a fraction as ints, then convert strictly as before."""
    try:
        return msgspec.convert(_ints(msgspec.json.decode(body)), decoder.type, strict=True)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return value


def _invalid(exc: msgspec.ValidationError) -> ValidationException:
    text = str(exc)
    message, _, where = text.partition(" - at `$")
    item: dict[str, str] = {"message": message, "source": "body"}
    if where:
        item["key"] = where.rstrip("`").lstrip(".")
    return ValidationException(detail="Validation failed for request body", extra=[item])


class BodyRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        body = await self.body()
        if not body.strip():
            raise ClientException(EMPTY_BODY)
        decoder = _decoder(self.route_handler)
        if decoder is not None:
            try:
                return decoder.decode(body)
            except msgspec.ValidationError as exc:
                if not str(exc).startswith("Expected `int`, got `float`"):
                    raise _invalid(exc) from None
                return _integral(body, decoder)
            except RecursionError:
                raise ClientException("the JSON body is nested too deeply") from None
            except UnicodeDecodeError:
                raise ClientException("the request body is not valid UTF-8") from None
            except msgspec.DecodeError as exc:
                raise ClientException(f"the request body is not valid JSON: {exc}") from None
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply") from None
        except UnicodeDecodeError:
            raise ClientException("the request body is not valid UTF-8") from None
        except SerializationException as exc:
            raise ClientException(f"the request body is not valid JSON: {exc}") from None
