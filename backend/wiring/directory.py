"""``Directory``: the enabled provider instances, their routes, and where a turn runs (``ProviderDirectory``).

Resolution (docs/routing.md), first match wins:

1. the request names a ``provider``: that provider, pinned (its retries, no fallback), with the request's
   ``model`` or the agent's (when the agent uses that provider) or its default;
2. the request names a ``model``: a route alias; a provider name; ``provider/model`` (or
   ``provider:model``) of an enabled provider; else that upstream model on the agent's provider (or the
   default provider), pinned;
3. the agent's ``provider`` (pinned, with the agent's ``model``), or the agent's ``model`` as in 2;
4. the default route: a route named ``default`` if configured, else the enabled providers in
   ``SWITCHBOARD_PROVIDERS`` order starting with the default provider (only the default provider when
   ``SWITCHBOARD_DEFAULT_ROUTE_FALLBACK=false``).

The agent engine is the agent's ``engine``, or, for ``auto``, the engine the route's first provider
instance prefers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from backend.services.routing.deployments import Deployment, DeploymentStats
from backend.services.routing.router import ModelRouter
from contracts.agents import AgentDescriptor, ProviderDescriptor, ProviderHealth, ProviderStatus
from contracts.errors import InvalidRequest, NotFound
from contracts.ports import AgentRuntime, ModelRoute, ModerationCheck, RealtimeChannelFactory, Target
from contracts.providers import ProviderInstance
from contracts.routing import DeploymentInfo, HealthBoard, RouteInfo

RouterFactory = Callable[[str, list[Deployment], bool], ModelRouter]
"""(route name, deployments, pinned) -> a router with the route's policy."""
PINNED_CACHE = 1024


class Directory:
    """Implements ``ProviderDirectory``."""

    def __init__(
        self,
        instances: Mapping[str, ProviderInstance],
        default: str,
        *,
        routes: Mapping[str, ModelRouter],
        sources: Mapping[str, str],
        engines: Mapping[str, AgentRuntime],
        board: HealthBoard,
        stats: Mapping[str, DeploymentStats],
        router_for: RouterFactory,
    ) -> None:
        self._instances = dict(instances)
        self._order = list(instances)
        self._default = default
        self._routes = dict(routes)
        self._sources = dict(sources)
        self._engines = dict(engines)
        self._board = board
        self._stats = dict(stats)
        self._router_for = router_for
        self._pinned: dict[tuple[str, str], ModelRouter] = {}
        self.release: Callable[[], Awaitable[None]] | None = None
        """Set when the instances belong to an ``InstancePool``: closing hands them back to it."""

    def set_routes(self, routes: Mapping[str, ModelRouter], sources: Mapping[str, str]) -> None:
        """Install the configured routes (built after the directory, since they need its deployments)."""
        self._routes = dict(routes)
        self._sources = dict(sources)

    # -- the port -----------------------------------------------------------------------------------------

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

    def target(self, *, provider: str | None, model: str | None, agent: AgentDescriptor) -> Target:
        if provider:
            own_model = agent.model if agent.provider == provider else None
            return self._pinned_target(provider, model or own_model, agent, field="provider")
        if model:
            return self._by_reference(model, agent, field="model")
        if agent.provider:
            return self._pinned_target(agent.provider, agent.model, agent, field="agent")
        if agent.model:
            return self._by_reference(agent.model, agent, field="agent")
        return self._route_target(self._routes["default"], agent)

    def route(self, model: str | None) -> ModelRoute:
        if model is None:
            return self._model_route(self._routes["default"])
        router = self._routes.get(model)
        if router is not None:
            return self._model_route(router)
        if model in self._instances:
            return self._model_route(self._pinned_router(model, None, field="model"))
        for separator in ("/", ":"):
            head, sep, tail = model.partition(separator)
            if sep and tail and head in self._instances:
                return self._model_route(self._pinned_router(head, tail, field="model"))
        return self._model_route(self._pinned_router(self._default, model, field="model"))

    def embedding_route(self, model: str | None) -> ModelRoute:
        router = self._routes.get(model or "")
        if router is not None and model != "default":
            return self._model_route(router)
        capable = [n for n in self._order if self._instances[n].embeddings is not None]
        if not capable:
            raise InvalidRequest("no enabled provider offers embeddings", field="model")
        provider, upstream = (self._default if self._default in capable else capable[0]), model
        if model in self._instances:
            provider, upstream = model, None
        elif model:
            for separator in ("/", ":"):
                head, sep, tail = model.partition(separator)
                if sep and tail and head in self._instances:
                    provider, upstream = head, tail
                    break
        descriptor = self._instances[provider].descriptor
        chosen = upstream or descriptor.default_embedding_model or descriptor.default_model
        return self._model_route(self._pinned_router(provider, chosen, field="model"))

    def models(self) -> list[str]:
        names = [name for name in self._routes if name != "default"]
        names += self._order
        for name in self._order:
            names.append(f"{name}/{self._instances[name].descriptor.default_model}")
        for router in self._routes.values():
            names += [f"{d.provider}/{d.model}" for d in router.deployments]
        return list(dict.fromkeys(names))

    def _model_route(self, router: ModelRouter) -> ModelRoute:
        first = router.deployments[0]
        return ModelRoute(
            route=router.name,
            model=router,
            provider=self._instances[first.provider].descriptor,
            model_name=first.model,
        )

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
                    deployments=[self._info(d) for d in self._all_deployments() if d.provider == name],
                )
            )
        return result

    def routes(self) -> list[RouteInfo]:
        return [
            RouteInfo(
                name=name,
                strategy=router.policy.strategy,
                deployments=[self._info(d) for d in router.deployments],
                source=self._sources.get(name, "env"),
            )
            for name, router in self._routes.items()
        ]

    async def aclose(self) -> None:
        """Close (or hand back to their pool) the instances; the health board is closed by its owner."""
        if self.release is not None:
            await self.release()
            return
        for instance in self._instances.values():
            if instance.aclose is not None:
                await instance.aclose()

    # -- resolution ---------------------------------------------------------------------------------------

    def _by_reference(self, reference: str, agent: AgentDescriptor, *, field: str) -> Target:
        route = self._routes.get(reference)
        if route is not None and reference != "default":
            return self._route_target(route, agent)
        if reference in self._instances:
            return self._pinned_target(reference, None, agent, field=field)
        for separator in ("/", ":"):
            head, sep, tail = reference.partition(separator)
            if sep and tail and head in self._instances:
                return self._pinned_target(head, tail, agent, field=field)
        return self._pinned_target(agent.provider or self._default, reference, agent, field=field)

    def _pinned_target(
        self, provider: str, model: str | None, agent: AgentDescriptor, *, field: str
    ) -> Target:
        return self._route_target(self._pinned_router(provider, model, field=field), agent)

    def _pinned_router(self, provider: str, model: str | None, *, field: str) -> ModelRouter:
        """A one-deployment router for ``provider`` (its model, or its default), cached."""
        instance = self._instances.get(provider)
        if instance is None:
            raise InvalidRequest(
                f"provider {provider!r} is not enabled (enabled: {', '.join(self._order)})", field=field
            )
        upstream = model or instance.descriptor.default_model
        key = (provider, upstream)
        router = self._pinned.get(key)
        if router is None:
            if len(self._pinned) >= PINNED_CACHE:
                self._pinned.pop(next(iter(self._pinned)))
            router = self._pinned[key] = self._router_for(
                provider, [self.deployment(provider, upstream)], True
            )
        return router

    def _route_target(self, router: ModelRouter, agent: AgentDescriptor) -> Target:
        first = router.deployments[0]
        instance = self._instances[first.provider]
        engine = agent.engine if agent.engine != "auto" else instance.engine
        runtime = self._engines.get(engine) or self._engines["tool_loop"]
        return Target(
            route=router.name,
            model=router,
            runtime=runtime,
            provider=instance.descriptor,
            model_name=first.model,
        )

    def deployment(self, provider: str, model: str) -> Deployment:
        """A deployment ``provider:model`` with the instance's capabilities, sharing the stats of every
        other deployment of the same ``provider:model``."""
        instance = self._instances[provider]
        return Deployment(
            provider=provider,
            model=model,
            target=instance.model,
            capabilities=capabilities_of(instance.descriptor),
            embedder=instance.embeddings,
            stats=self._stats.setdefault(f"{provider}:{model}", DeploymentStats()),
        )

    def _all_deployments(self) -> list[Deployment]:
        """One deployment per ``provider:model`` known to any route (configured or pinned so far)."""
        seen: dict[str, Deployment] = {}
        for router in [*self._routes.values(), *self._pinned.values()]:
            for deployment in router.deployments:
                seen.setdefault(deployment.id, deployment)
        return list(seen.values())

    def _info(self, deployment: Deployment) -> DeploymentInfo:
        return DeploymentInfo(
            id=deployment.id,
            provider=deployment.provider,
            model=deployment.model,
            weight=deployment.weight,
            health=self._board.state(deployment.id),
        )

    async def _health(self, name: str) -> ProviderHealth:
        ping = self._instances[name].ping
        if ping is None:
            return ProviderHealth(ok=True)
        try:
            return await asyncio.wait_for(ping(), timeout=5)
        except Exception as exc:  # health must report, never raise
            return ProviderHealth(ok=False, detail=type(exc).__name__)


def capabilities_of(descriptor: ProviderDescriptor) -> frozenset[str]:
    """The capability names a router filters on, from an instance's descriptor."""
    caps = descriptor.capabilities
    found = {name for name in ("tools", "structured_output", "images", "embeddings") if getattr(caps, name)}
    return frozenset(found)
