"""``/v1/providers``, ``/v1/agents``, ``/v1/tools``: what this deployment offers."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from backend.http.auth import provide_principal
from backend.http.svcs_plugin import Injected, port
from contracts.agents import AgentDescriptor, ProviderStatus
from contracts.auth import Principal
from contracts.base import Struct
from contracts.ports import AgentCatalog, ProviderDirectory, ToolRegistryPort
from contracts.tools import ToolSpec


class ProviderList(Struct, frozen=True, kw_only=True):
    default: str
    data: list[ProviderStatus]


class AgentList(Struct, frozen=True, kw_only=True):
    default: str
    data: list[AgentDescriptor]


class ToolList(Struct, frozen=True, kw_only=True):
    data: list[ToolSpec]


class CatalogController(Controller):
    path = "/v1"
    tags = ["catalog"]
    dependencies = {"principal": provide_principal}

    @get(
        "/providers",
        summary="Enabled providers: default, order, capabilities, health",
        dependencies={"providers": port(ProviderDirectory)},
    )
    async def providers(
        self, principal: NamedDependency[Principal], providers: Injected[ProviderDirectory]
    ) -> ProviderList:
        return ProviderList(default=providers.default, data=await providers.statuses())

    @get("/agents", summary="Agents of the catalog", dependencies={"catalog": port(AgentCatalog)})
    async def agents(
        self, principal: NamedDependency[Principal], catalog: Injected[AgentCatalog]
    ) -> AgentList:
        return AgentList(default=catalog.default_key, data=catalog.all())

    @get("/tools", summary="Tools agents may call", dependencies={"tools": port(ToolRegistryPort)})
    async def tools(
        self, principal: NamedDependency[Principal], tools: Injected[ToolRegistryPort]
    ) -> ToolList:
        return ToolList(data=tools.specs())
