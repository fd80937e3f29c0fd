"""``/v1/providers``, ``/v1/routes``, ``/v1/agents``, ``/v1/tools``: what this deployment offers."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from backend.http.auth import GUARDS, provide_principal
from backend.http.openapi import problems
from backend.http.svcs_plugin import Injected, port
from contracts.agents import AgentDescriptor, ProviderStatus
from contracts.auth import Principal
from contracts.base import Struct
from contracts.config import ConfigVersion
from contracts.ports import AgentCatalog, ProviderDirectory, ToolRegistryPort
from contracts.routing import RouteInfo
from contracts.tools import ToolSpec


class ProviderList(Struct, frozen=True, kw_only=True):
    """``data``: each enabled instance with its deployments' circuit states; ``routes``: every route;
    ``config``: the configuration serving this request (its version and when it was loaded)."""

    default: str
    data: list[ProviderStatus]
    routes: list[RouteInfo] = []
    config: ConfigVersion | None = None


class RouteList(Struct, frozen=True, kw_only=True):
    data: list[RouteInfo]


class AgentList(Struct, frozen=True, kw_only=True):
    default: str
    data: list[AgentDescriptor]


class ToolList(Struct, frozen=True, kw_only=True):
    data: list[ToolSpec]


class CatalogController(Controller):
    path = "/v1"
    tags = ["catalog"]
    guards = GUARDS
    dependencies = {"principal": provide_principal}

    @get(
        "/providers",
        responses=problems(),
        summary="Enabled providers: default, order, capabilities, health",
        dependencies={"providers": port(ProviderDirectory), "config": port(ConfigVersion)},
    )
    async def providers(
        self,
        principal: NamedDependency[Principal],
        providers: Injected[ProviderDirectory],
        config: Injected[ConfigVersion],
    ) -> ProviderList:
        return ProviderList(
            default=providers.default,
            data=await providers.statuses(),
            routes=providers.routes(),
            config=config,
        )

    @get(
        "/routes",
        summary="Routes: aliases, strategy, deployments and their circuit state",
        dependencies={"providers": port(ProviderDirectory)},
    )
    async def routes(
        self, principal: NamedDependency[Principal], providers: Injected[ProviderDirectory]
    ) -> RouteList:
        return RouteList(data=providers.routes())

    @get(
        "/agents",
        summary="Agents of the catalog",
        dependencies={"catalog": port(AgentCatalog)},
        responses=problems(),
    )
    async def agents(
        self, principal: NamedDependency[Principal], catalog: Injected[AgentCatalog]
    ) -> AgentList:
        return AgentList(default=catalog.default_key, data=catalog.all())

    @get(
        "/tools",
        summary="Tools agents may call",
        dependencies={"tools": port(ToolRegistryPort)},
        responses=problems(),
    )
    async def tools(
        self, principal: NamedDependency[Principal], tools: Injected[ToolRegistryPort]
    ) -> ToolList:
        return ToolList(data=tools.specs())
