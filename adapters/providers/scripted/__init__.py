"""The ``scripted`` provider kind: offline, deterministic, the service's embedded default.

Kept light: the model and realtime modules are imported when an instance is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.providers.scripted.settings import ScriptedSettings, validate_settings
from contracts.providers import ProviderKind

if TYPE_CHECKING:
    from contracts.providers import BuildContext, ProviderInstance


def _build(ctx: BuildContext, settings: ScriptedSettings) -> ProviderInstance:
    from adapters.providers.scripted.factory import build

    return build(ctx, settings)


KIND: ProviderKind[ScriptedSettings] = ProviderKind(
    name="scripted",
    settings_type=ScriptedSettings,
    build=_build,
    validate=validate_settings,
    description="Offline deterministic provider: echoes, recalls, calls the shipped tools; no network.",
)

__all__ = ["KIND", "ScriptedSettings"]
