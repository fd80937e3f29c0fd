"""Tool-call ids for protocols that restrict their characters, mapped both ways without a table.

Anthropic's Messages API accepts tool-use ids matching ``^[a-zA-Z0-9_-]+$`` only; ids made by other
providers (or clients) may hold other characters (``.``, ``:``, ``/``...). Stored history keeps the
original id, so a conversation moves between providers: a codec that needs restricted ids sends
``restricted(call_id)`` and reads ids back with ``original(...)``.

- An id already made of allowed characters is sent unchanged (every OpenAI and Anthropic id).
- Any other id (or one that starts with the prefix below) becomes ``sbx_`` + its UTF-8 bytes in unpadded
  base64url, whose alphabet is exactly the allowed characters; ``original`` decodes it back.

Deterministic and stateless: the same id maps to the same restricted id on every instance.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

PREFIX: Final = "sbx_"
_ALLOWED = re.compile(r"^[A-Za-z0-9_-]+$")


def restricted(call_id: str) -> str:
    """``call_id`` as an id of ``[A-Za-z0-9_-]`` characters only (unchanged when it already is one)."""
    if _ALLOWED.match(call_id) and not call_id.startswith(PREFIX):
        return call_id
    encoded = base64.urlsafe_b64encode(call_id.encode()).rstrip(b"=").decode()
    return PREFIX + encoded


def original(wire_id: str) -> str:
    """The id ``restricted`` was given for ``wire_id`` (any id it did not make comes back unchanged)."""
    if not wire_id.startswith(PREFIX):
        return wire_id
    encoded = wire_id[len(PREFIX) :]
    try:
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return wire_id
    return decoded if restricted(decoded) == wire_id else wire_id  # only ids ``restricted`` made
