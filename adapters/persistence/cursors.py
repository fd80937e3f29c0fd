"""Opaque list cursors shared by every session store: base64url of ``[updated_at ISO, conversation id]``.

Conversations are listed by ``(updated_at desc, id desc)``; a cursor is the last row of a page, and the
next page starts strictly after it, so pages never overlap nor skip a row.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import msgspec

from contracts.errors import InvalidRequest

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(tuple[datetime, str])


def encode_cursor(updated_at: datetime, conversation_id: str) -> str:
    """The cursor pointing just after ``(updated_at, conversation_id)``."""
    raw = _encoder.encode((updated_at, conversation_id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Decode a cursor; anything malformed raises ``InvalidRequest(field="cursor")``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, conversation_id = _decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidRequest("malformed cursor", field="cursor") from exc
    if updated_at.tzinfo is None:
        raise InvalidRequest("malformed cursor", field="cursor")
    return updated_at, conversation_id
