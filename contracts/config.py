"""The running configuration's identity, and what a live reload did (docs/operations.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from contracts.base import Struct


class ConfigVersion(Struct, frozen=True, kw_only=True):
    """Which configuration serves a request. Requests and streams keep the generation they started on."""

    version: str
    """A digest of the effective settings and of the agent catalog, guardrail policy and routes files."""
    loaded_at: datetime
    """When this generation was built (UTC)."""
    generation: int
    """1 at start-up, one more per applied reload."""


class ReloadResult(Struct, frozen=True, kw_only=True):
    """The answer to ``POST /v1/admin/reload`` when the new configuration is valid (a refused one is a
    problem+json 422 with code ``config_rejected``)."""

    outcome: Literal["applied", "unchanged"]
    config: ConfigVersion
    """The configuration now serving new requests."""
    previous_version: str
    workers_signalled: bool = False
    """With several worker processes: the other workers were told to reload too (each validates on its
    own and logs its outcome)."""
