"""Provider kinds and the provider directory built from settings.

``PROVIDER_KINDS`` is the one table to extend when a kind is added (docs/adding-a-provider.md): kind name ->
dotted path of the module exposing ``KIND``. Modules are imported only for enabled kinds.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from typing import Any

import msgspec

from backend.settings import ProviderSettings
from contracts.agents import ProviderDescriptor, ProviderHealth, ProviderStatus
from contracts.errors import InvalidRequest, NotFound
from contracts.ports import AgentRuntime, ModerationCheck, RealtimeChannelFactory
from contracts.providers import BuildContext, ProviderInstance, ProviderKind

PROVIDER_KINDS: dict[str, str] = {
    "scripted": "adapters.providers.scripted",
    "openai": "adapters.providers.openai",
}


def load_kind(kind: str) -> ProviderKind[Any]:
    module = importlib.import_module(PROVIDER_KINDS[kind])
    found: ProviderKind[Any] = module.KIND
    return found


def instance_values(settings: ProviderSettings, name: str, kind: ProviderKind[Any]) -> dict[str, str]:
    """The raw fields of instance ``name``: its own variables, then the kind's plain defaults."""
    values = {k: v for k, v in settings.instances.get(name, {}).items() if k != "kind"}
    if name == kind.name:
        for field, variable in kind.env_defaults.items():
            if field not in values and variable in settings.plain_env:
                values[field] = settings.plain_env[variable]
    return values


def provider_problems(settings: ProviderSettings) -> list[str]:
    """Everything wrong with the provider settings, each naming the variable to fix."""
    if not settings.enabled:
        return ["SWITCHBOARD_PROVIDERS is empty: enable at least one provider (e.g. scripted)"]
    problems: list[str] = []
    if settings.default_name not in settings.enabled:
        problems.append(
            f"SWITCHBOARD_DEFAULT_PROVIDER={settings.default!r} is not one of SWITCHBOARD_PROVIDERS "
            f"({', '.join(settings.enabled)})"
        )
    for name in settings.enabled:
        kind_name = settings.kind_of(name)
        if kind_name not in PROVIDER_KINDS:
            variable = f"SWITCHBOARD_PROVIDER_{name.upper()}_KIND"
            problems.append(
                f"provider {name!r} has unknown kind {kind_name!r} (set {variable} to one of "
                f"{', '.join(sorted(PROVIDER_KINDS))})"
            )
            continue
        kind = load_kind(kind_name)
        fields = set(getattr(kind.settings_type, "__struct_fields__", ()))
        for unknown in sorted(set(settings.instances.get(name, {})) - fields - {"kind"}):
            problems.append(
                f"SWITCHBOARD_PROVIDER_{name.upper()}_{unknown.upper()} is not a setting of kind {kind_name!r} "
                f"(its settings: {', '.join(sorted(f.upper() for f in fields))})"
            )
        try:
            parsed = kind.settings_from(instance_values(settings, name, kind))
        except msgspec.ValidationError as exc:
            problems.append(f"provider {name!r}: {_variable_for(name, str(exc))}")
            continue
        problems.extend(kind.validate(name, parsed))
    return problems


def _variable_for(name: str, message: str) -> str:
    reason, _, path = message.partition(" - at `$.")
    field = path.rstrip("`")
    return f"SWITCHBOARD_PROVIDER_{name.upper()}_{field.upper()}: {reason}" if field else message


class Directory:
    """The enabled provider instances (implements ``ProviderDirectory``)."""

    def __init__(self, instances: Mapping[str, ProviderInstance], default: str) -> None:
        self._instances = dict(instances)
        self._order = list(instances)
        self._default = default

    @property
    def default(self) -> str:
        return self._default

    def names(self) -> list[str]:
        return list(self._order)

    def _get(self, name: str) -> ProviderInstance:
        try:
            return self._instances[name]
        except KeyError:
            raise NotFound("provider", name) from None

    def descriptor(self, name: str) -> ProviderDescriptor:
        return self._get(name).descriptor

    def runtime(self, name: str) -> AgentRuntime:
        return self._get(name).runtime

    def realtime(self, name: str) -> RealtimeChannelFactory:
        factory = self._get(name).realtime
        if factory is None:
            raise InvalidRequest(f"provider {name!r} has no realtime channel", field="provider")
        return factory

    def moderation(self, name: str | None) -> ModerationCheck:
        names = [name] if name else self._order
        for candidate in names:
            check = self._get(candidate).moderation
            if check is not None:
                return check
        raise InvalidRequest(f"no enabled provider offers moderation (asked: {name or 'any'})")

    async def statuses(self) -> list[ProviderStatus]:
        healths = await asyncio.gather(*(self._health(n) for n in self._order))
        result = []
        for order, (name, health) in enumerate(zip(self._order, healths, strict=True)):
            d = self._instances[name].descriptor
            result.append(
                ProviderStatus(
                    name=name,
                    kind=d.kind,
                    default_model=d.default_model,
                    offline=d.offline,
                    capabilities=d.capabilities,
                    default=name == self._default,
                    order=order,
                    health=health,
                )
            )
        return result

    async def _health(self, name: str) -> ProviderHealth:
        try:
            return await asyncio.wait_for(self._instances[name].runtime.ping(), timeout=5)
        except Exception as exc:  # health must report, never raise
            return ProviderHealth(ok=False, detail=type(exc).__name__)

    async def aclose(self) -> None:
        for instance in self._instances.values():
            if instance.aclose is not None:
                await instance.aclose()


def build_directory(settings: ProviderSettings, ctx_for: Any) -> Directory:
    instances: dict[str, ProviderInstance] = {}
    for name in settings.enabled:
        kind = load_kind(settings.kind_of(name))
        parsed = kind.settings_from(instance_values(settings, name, kind))
        context: BuildContext = ctx_for(name)
        instances[name] = kind.build(context, parsed)
    return Directory(instances, settings.default_name)
