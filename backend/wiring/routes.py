"""Routes from settings: ``SWITCHBOARD_ROUTE_<ALIAS>`` values and the routes file, parsed and checked.

An environment value is ``provider[:model][*weight], ...`` optionally followed by ``; option=value``
pairs (``strategy``, ``retries``, ``timeout_s``, ``fallback``)::

    SWITCHBOARD_ROUTE_FAST="openai:gpt-4.1-mini*3, local:qwen3:8b; strategy=weighted; retries=0"

The model is everything after the first ``:`` (Ollama's ``qwen3:8b`` works); ``*3`` at the end is the
weight. Every problem names the variable (or the file) and says what to change.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from backend.services.routing.policy import SPECIAL, STRATEGIES
from backend.settings import ProviderSettings, RoutingSettings
from contracts.routing import DeploymentSpec, RouteSpec

CAPABILITY_NAMES = frozenset({"tools", "structured_output", "images"})
_OPTIONS = {"strategy": str, "retries": int, "timeout_s": float, "fallback": bool}


class RouteError(ValueError):
    """One unusable route value; the message says why (the caller names the variable)."""


def env_variable(alias: str) -> str:
    return f"SWITCHBOARD_ROUTE_{alias.upper()}"


def parse_env_route(alias: str, value: str) -> RouteSpec:
    """``SWITCHBOARD_ROUTE_<ALIAS>``'s value as a ``RouteSpec`` (raises ``RouteError``)."""
    head, *options = [part.strip() for part in value.split(";")]
    deployments = tuple(_deployment(entry.strip()) for entry in head.split(",") if entry.strip())
    if not deployments:
        raise RouteError("lists no deployment (expected provider[:model][*weight], ...)")
    fields: dict[str, object] = {}
    for option in filter(None, options):
        key, sep, raw = (x.strip() for x in option.partition("="))
        if not sep or key not in _OPTIONS:
            raise RouteError(f"unknown option {option!r} (options: {', '.join(_OPTIONS)})")
        fields[key] = raw
    try:
        return msgspec.convert({"name": alias, "deployments": deployments, **fields}, RouteSpec, strict=False)
    except msgspec.ValidationError as exc:
        raise RouteError(str(exc)) from None


def _deployment(entry: str) -> DeploymentSpec:
    weight = 1.0
    body, star, raw_weight = entry.rpartition("*")
    if star:
        try:
            weight = float(raw_weight)
        except ValueError:
            raise RouteError(f"{entry!r}: the weight after '*' must be a number") from None
        entry = body
    provider, _, model = entry.partition(":")
    if not provider.strip():
        raise RouteError(f"{entry!r}: a deployment starts with a provider name")
    return DeploymentSpec(provider=provider.strip().lower(), model=model.strip() or None, weight=weight)


def spec_problems(spec: RouteSpec, where: str, providers: ProviderSettings) -> list[str]:
    """What is wrong with a decoded spec; each message starts with ``where`` (variable or file)."""
    problems: list[str] = []
    name = spec.name
    if not name or any(c.isspace() for c in name) or len(name) > 128:
        problems.append(f"{where}: route name {name!r} must be 1-128 characters without spaces")
    if name in providers.enabled:
        problems.append(f"{where}: route {name!r} has the name of a provider; choose another alias")
    if spec.strategy is not None and spec.strategy not in STRATEGIES:
        problems.append(f"{where}: strategy {spec.strategy!r} is not one of {', '.join(STRATEGIES)}")
    if spec.retries is not None and not 0 <= spec.retries <= 10:
        problems.append(f"{where}: retries must be between 0 and 10")
    if spec.timeout_s is not None and spec.timeout_s <= 0:
        problems.append(f"{where}: timeout_s must be > 0")
    if not spec.deployments:
        problems.append(f"{where}: route {name!r} lists no deployment")
    for deployment in spec.deployments:
        problems.extend(_deployment_problems(deployment, where, name, providers))
    return problems


def _deployment_problems(d: DeploymentSpec, where: str, route: str, providers: ProviderSettings) -> list[str]:
    problems = []
    if d.provider not in providers.enabled:
        problems.append(
            f"{where}: route {route!r} names provider {d.provider!r}, which is not enabled "
            f"(SWITCHBOARD_PROVIDERS={','.join(providers.enabled)})"
        )
    if d.weight <= 0:
        problems.append(f"{where}: route {route!r}: the weight of {d.provider!r} must be > 0")
    for handled in d.handles:
        if handled not in SPECIAL:
            problems.append(
                f"{where}: route {route!r}: handles {handled!r} is not one of {', '.join(sorted(SPECIAL))}"
            )
    for capability in d.capabilities:
        if capability not in CAPABILITY_NAMES:
            problems.append(
                f"{where}: route {route!r}: capability {capability!r} is not one of {', '.join(sorted(CAPABILITY_NAMES))}"
            )
    if d.max_in_flight is not None and d.max_in_flight < 1:
        problems.append(f"{where}: route {route!r}: max_in_flight must be >= 1")
    return problems


def configured_routes(
    routing: RoutingSettings, providers: ProviderSettings
) -> tuple[list[tuple[RouteSpec, str]], list[str]]:
    """Every configured route with its source (``env`` or ``file``), and every problem found."""
    found: list[tuple[RouteSpec, str]] = []
    problems: list[str] = []
    for alias, value in sorted(routing.routes.items()):
        try:
            spec = parse_env_route(alias, value)
        except RouteError as exc:
            problems.append(f"{env_variable(alias)}: {exc}")
            continue
        found.append((spec, "env"))
        problems += spec_problems(spec, env_variable(alias), providers)
    if routing.routes_file:
        from adapters.routing.routes_file import RoutesFileError, load_routes

        try:
            file_specs = load_routes(routing.routes_file)
        except RoutesFileError as exc:
            problems.append(f"SWITCHBOARD_ROUTES_FILE: {exc}")
            file_specs = []
        for spec in file_specs:
            where = f"SWITCHBOARD_ROUTES_FILE ({routing.routes_file})"
            if spec.name in {s.name for s, _ in found}:
                problems.append(f"{where}: route {spec.name!r} is declared twice")
            found.append((spec, "file"))
            problems += spec_problems(spec, where, providers)
    return found, problems


def route_names(routes: Iterable[tuple[RouteSpec, str]]) -> list[str]:
    return [spec.name for spec, _ in routes]


def describe_routes(routing: RoutingSettings, providers: ProviderSettings) -> list[str]:
    """One line per route (configured ones, then the default), for ``switchboard providers``/``check``."""
    specs, _ = configured_routes(routing, providers)
    lines = []
    for spec, source in specs:
        strategy = spec.strategy or routing.strategy
        deployments = ", ".join(
            f"{d.provider}:{d.model or '(default model)'}" + (f"*{d.weight:g}" if d.weight != 1 else "")
            for d in spec.deployments
        )
        lines.append(f"{spec.name}  ({source}, {strategy}): {deployments}")
    if "default" not in {spec.name for spec, _ in specs}:
        default = providers.default_name
        order = [default] + (
            [n for n in providers.enabled if n != default] if routing.default_fallback else []
        )
        mode = "fallback along the enabled providers" if routing.default_fallback else "default provider only"
        lines.append(f"default  (SWITCHBOARD_PROVIDERS, {mode}): {', '.join(order)}")
    return lines
