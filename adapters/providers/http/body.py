"""Request bodies of every wire codec: a typed body (a msgspec Struct) with a protocol's ``extras``
merged at the top level, encoded once."""

from __future__ import annotations

from typing import Any, Final

import msgspec

_encode = msgspec.json.encode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_NULLABLE: dict[type[msgspec.Struct], frozenset[str]] = {}

RESERVED_EXTRAS: Final = frozenset({"stream"})
"""Body fields ``extras`` cannot set: the codec decides whether it streams."""


def _nullable(kind: type[msgspec.Struct]) -> frozenset[str]:
    """Fields of ``kind`` whose default is None (left out of the body when unset)."""
    found = _NULLABLE.get(kind)
    if found is None:
        fields = msgspec.structs.fields(kind)
        found = _NULLABLE[kind] = frozenset(f.name for f in fields if not f.required and f.default is None)
    return found


def encode_body(body: msgspec.Struct, extras: dict[str, Any]) -> bytes:
    """``body`` as JSON with ``extras`` merged at the top level (an extra wins over the same field;
    ``stream`` is never taken from extras). Without extras this is one ``msgspec.json.encode``."""
    if not extras:
        return _encode(body)
    if not RESERVED_EXTRAS.isdisjoint(extras):
        extras = {k: v for k, v in extras.items() if k not in RESERVED_EXTRAS}
    clash = extras.keys() & set(body.__struct_fields__)
    if clash and clash <= _nullable(type(body)):
        body = msgspec.structs.replace(body, **dict.fromkeys(clash))
    elif clash:
        merged = _decode_object(_encode(body))
        merged.update(extras)
        return _encode(merged)
    head = _encode(body)
    return head[:-1] + b"," + _encode(extras)[1:] if extras else head
