"""The one base every contract Struct derives from.

Options, and why:

- ``frozen=True``: contracts are values. They are shared between tasks (a stream event fans out to the
  SSE encoder, the logger and the resume buffer) and must never change under a reader. Frozen Structs
  are also hashable.
- ``kw_only=True``: every field is named at construction, so adding a field with a default never shifts
  a positional argument (schema evolution: new fields get defaults, no field is ever retyped).
- ``Inbound`` adds ``forbid_unknown_fields=True``: a client that misspells ``mesage`` gets a 400 naming
  the field instead of a silently ignored key. Outbound Structs accept unknown fields so that an older
  reader can decode a newer payload.

Never use ``array_like=True`` on public JSON: field names are part of the contract.
"""

from __future__ import annotations

import msgspec


class Struct(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every provider-neutral value (outbound and internal)."""


class Inbound(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body a client sends: unknown fields are rejected."""
