"""Settings of a scripted provider instance (``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>``)."""

from __future__ import annotations

import msgspec


class ScriptedSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the offline scripted provider behaves.

    ``token_delay_ms``: pause between streamed tokens, in milliseconds (0: no pause); lets tests and demos
    see a stream unfold, be cancelled mid-way, or receive heartbeats.
    ``model``: the model name reported when a turn asks for none.
    """

    token_delay_ms: float = 0.0
    model: str = "scripted-1"


def validate_settings(name: str, settings: ScriptedSettings) -> list[str]:
    """Problems with the settings, each naming the variable to fix."""
    problems: list[str] = []
    if settings.token_delay_ms < 0:
        problems.append(f"SWITCHBOARD_PROVIDER_{name.upper()}_TOKEN_DELAY_MS must be >= 0")
    if not settings.model.strip():
        problems.append(f"SWITCHBOARD_PROVIDER_{name.upper()}_MODEL must not be empty")
    return problems
