"""Provider kinds, their settings checks, and the provider directory (instances, engines, routes) built
from settings.

``PROVIDER_KINDS`` is the one table to extend when a kind is added (docs/adding-a-provider.md): kind name ->
dotted path of the module exposing ``KIND``. Modules are imported only for enabled kinds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec

from backend.services.routing.deployments import Deployment
from backend.services.routing.policy import RetryPolicy, RoutePolicy
from backend.services.routing.router import ModelRouter
from backend.services.tool_loop import ToolLoopRuntime
from backend.settings import ProviderSettings, RoutingSettings
from backend.wiring.directory import Directory
from backend.wiring.instance_pool import InstanceKey, InstancePool, instance_key
from backend.wiring.routes import configured_routes
from contracts.ports import AgentCatalog, AgentRuntime, ToolRegistryPort
from contracts.providers import BuildContext, EngineContext, ProviderInstance, ProviderKind
from contracts.routing import DeploymentSpec, HealthBoard, RouteSpec

PROVIDER_KINDS: dict[str, str] = {
    "scripted": "adapters.providers.scripted",
    "openai": "adapters.providers.openai",
    "anthropic": "adapters.providers.anthropic",
}


def load_kind(kind: str) -> ProviderKind[Any]:
    module = importlib.import_module(PROVIDER_KINDS[kind])
    found: ProviderKind[Any] = module.KIND
    return found


def plain_variables() -> frozenset[str]:
    """The plain variables every registered kind defaults from (``env_defaults``), read by settings."""
    return frozenset(v for kind in PROVIDER_KINDS for v in load_kind(kind).env_defaults.values())


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
            if unknown in kind.moved:
                problems.append(
                    f"SWITCHBOARD_PROVIDER_{name.upper()}_{unknown.upper()} is no longer read: {kind.moved[unknown]}"
                )
                continue
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


ENGINES_BUILTIN = ("tool_loop",)


def engine_kinds() -> dict[str, str]:
    """Agent engine name -> the provider kind offering it (kinds' modules are light to import)."""
    offered: dict[str, str] = {}
    for kind_name in PROVIDER_KINDS:
        for engine in load_kind(kind_name).engines:
            offered.setdefault(engine, kind_name)
    return offered


def engine_problems(settings: ProviderSettings, catalog_engines: dict[str, str]) -> list[str]:
    """Agents (``engine`` in the catalog) asking for an engine nothing offers."""
    known = set(ENGINES_BUILTIN) | set(engine_kinds())
    return [
        f"SWITCHBOARD_AGENTS_FILE: agent {agent!r} asks for engine {engine!r} (engines: {', '.join(sorted(known))})"
        for agent, engine in catalog_engines.items()
        if engine != "auto" and engine not in known
    ]


def build_directory(
    settings: ProviderSettings,
    routing: RoutingSettings,
    ctx_for: Callable[[str], BuildContext],
    *,
    tools: ToolRegistryPort,
    catalog: AgentCatalog,
    max_steps: int,
    board: HealthBoard,
    pool: InstancePool | None = None,
) -> Directory:
    """Build every enabled instance, the agent engines in use, and every route (configured and default).

    With a ``pool``, instances come from it (an unchanged instance is reused across reloads) and closing
    the directory releases them to it instead of closing them."""
    instances: dict[str, ProviderInstance] = {}
    parsed_by_kind: dict[str, dict[str, Any]] = {}
    keys: list[InstanceKey] = []
    for name in settings.enabled:
        kind = load_kind(settings.kind_of(name))
        parsed = kind.settings_from(instance_values(settings, name, kind))
        parsed_by_kind.setdefault(kind.name, {})[name] = parsed
        if pool is None:
            instances[name] = kind.build(ctx_for(name), parsed)
            continue
        key = instance_key(name, kind.name, parsed)
        instances[name] = pool.acquire(key, partial(_build_instance, kind, ctx_for(name), parsed))
        keys.append(key)
    engines: dict[str, AgentRuntime] = {}
    wanted = {a.engine for a in catalog.all()} | {i.engine for i in instances.values()}
    for engine, kind_name in engine_kinds().items():
        if engine in wanted:
            context = EngineContext(
                tools=tools, catalog=catalog, max_steps=max_steps, instances=parsed_by_kind.get(kind_name, {})
            )
            engines[engine] = load_kind(kind_name).engines[engine](context)
    specs, _problems = configured_routes(routing, settings)
    directory = assemble_directory(
        instances,
        settings.default_name,
        routing=routing,
        specs=specs,
        tools=tools,
        catalog=catalog,
        max_steps=max_steps,
        board=board,
        engines=engines,
    )
    if pool is not None:

        async def release() -> None:
            for key in keys:
                await pool.release(key)

        directory.release = release
    return directory


def _build_instance(kind: ProviderKind[Any], ctx: BuildContext, parsed: Any) -> ProviderInstance:
    return kind.build(ctx, parsed)


def assemble_directory(
    instances: dict[str, ProviderInstance],
    default: str,
    *,
    routing: RoutingSettings,
    tools: ToolRegistryPort,
    catalog: AgentCatalog,
    board: HealthBoard,
    specs: list[tuple[RouteSpec, str]] = [],  # noqa: B006 - read only
    max_steps: int = 10,
    engines: dict[str, AgentRuntime] | None = None,
) -> Directory:
    """A directory over instances already built (tests build one around a fake model this way)."""
    all_engines: dict[str, AgentRuntime] = {"tool_loop": ToolLoopRuntime(tools, catalog, max_steps=max_steps)}
    all_engines.update(engines or {})

    def router_for(name: str, deployments: list[Deployment], pinned: bool) -> ModelRouter:
        return ModelRouter(name, deployments, route_policy(routing, None, pinned=pinned), board)

    directory = Directory(
        instances,
        default,
        routes={},
        sources={},
        engines=all_engines,
        board=board,
        stats={},
        router_for=router_for,
    )
    routers: dict[str, ModelRouter] = {}
    sources: dict[str, str] = {}
    for spec, source in specs:
        routers[spec.name] = ModelRouter(
            spec.name,
            [_deployment(directory, d) for d in spec.deployments],
            route_policy(routing, spec),
            board,
        )
        sources[spec.name] = source
    if "default" not in routers:
        routers["default"] = _default_route(directory, list(instances), default, routing, board)
        sources["default"] = "default"
    directory.set_routes(routers, sources)
    return directory


def _deployment(directory: Directory, spec: DeploymentSpec) -> Deployment:
    base = directory.deployment(
        spec.provider, spec.model or directory.descriptor(spec.provider).default_model
    )
    capabilities = set(base.capabilities)
    for name, enabled in spec.capabilities.items():
        (capabilities.add if enabled else capabilities.discard)(name)
    base.capabilities = frozenset(capabilities)
    base.weight = spec.weight
    base.handles = frozenset(spec.handles)
    base.max_in_flight = spec.max_in_flight
    return base


def _default_route(
    directory: Directory, enabled: list[str], default: str, routing: RoutingSettings, board: HealthBoard
) -> ModelRouter:
    names = [default] + ([n for n in enabled if n != default] if routing.default_fallback else [])
    deployments = [directory.deployment(n, directory.descriptor(n).default_model) for n in names]
    policy = route_policy(routing, None, pinned=not routing.default_fallback)
    return ModelRouter("default", deployments, policy, board)


def route_policy(routing: RoutingSettings, spec: RouteSpec | None, *, pinned: bool = False) -> RoutePolicy:
    """A route's policy: its own options over the ``SWITCHBOARD_ROUTING_*`` defaults."""
    retries = spec.retries if spec is not None and spec.retries is not None else routing.retries
    strategy = spec.strategy if spec is not None and spec.strategy is not None else routing.strategy
    fallback = spec.fallback if spec is not None and spec.fallback is not None else not pinned
    return RoutePolicy(
        strategy=strategy,  # type: ignore[arg-type]
        retry=RetryPolicy(
            retries=retries,
            base_delay_s=routing.retry_base_delay_s,
            max_retry_after_s=routing.max_retry_after_s,
        ),
        timeout_s=spec.timeout_s if spec is not None and spec.timeout_s is not None else routing.timeout_s,
        fallback=fallback,
    )
