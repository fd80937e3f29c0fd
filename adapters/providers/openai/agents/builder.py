"""Builds (and caches) SDK agent graphs from the catalog's neutral ``AgentDescriptor``s.

A graph is an agent plus every agent reachable by handoffs, with its tools (``FunctionTool``s over the
``ToolRegistryPort``), its handoffs (``Handoff`` objects built once, so the model sees the same objects
on every call and its conversions stay cached) and its output schema. Agents carry no real model
(``NO_MODEL``): each run passes its own ``SwitchboardModel`` in the ``RunConfig``, so one graph runs over
any route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

from agents import Agent, Model, handoff

from adapters.providers.openai.agents.output_schema import JsonSchemaOutput
from adapters.providers.openai.agents.tools import function_tool
from adapters.providers.openai.agents.turn_state import TurnState
from contracts.agents import AgentDescriptor
from contracts.ports import AgentCatalog, ToolRegistryPort

SdkAgent = Agent[TurnState]


class _NoModel(Model):
    """The model of a built agent: none. A run without ``RunConfig(model=...)`` fails here instead of
    reaching OpenAI with the SDK's default model. (Being a ``Model`` object also spares the SDK from
    deep-copying its default model settings on every model call, as it does for an agent without one.)"""

    def _fail(self) -> NoReturn:
        raise RuntimeError(
            "SDK agents built by AgentGraphs run only with RunConfig(model=SwitchboardModel(...))"
        )

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        self._fail()

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        self._fail()


NO_MODEL = _NoModel()


class AgentGraphs:
    """SDK agent graphs by root agent key, built on first use."""

    def __init__(self, catalog: AgentCatalog, tools: ToolRegistryPort) -> None:
        self._catalog = catalog
        self._tools = tools
        self._cache: dict[str, tuple[AgentDescriptor, SdkAgent]] = {}

    def agent(self, descriptor: AgentDescriptor) -> SdkAgent:
        """The SDK agent for ``descriptor`` (rebuilt if the descriptor under that key changed)."""
        cached = self._cache.get(descriptor.key)
        if cached is not None and (cached[0] is descriptor or cached[0] == descriptor):
            return cached[1]
        built = self._build_graph(descriptor)
        self._cache[descriptor.key] = (descriptor, built)
        return built

    def clear(self) -> None:
        self._cache.clear()

    def _build_graph(self, root: AgentDescriptor) -> SdkAgent:
        descriptors = {root.key: root}
        built: dict[str, SdkAgent] = {}
        pending = [root]
        while pending:
            descriptor = pending.pop()
            if descriptor.key in built:
                continue
            built[descriptor.key] = self._build_one(descriptor)
            for key in descriptor.handoffs:
                if key not in descriptors:
                    descriptors[key] = self._catalog.get(key)
                    pending.append(descriptors[key])
        for key, agent in built.items():
            agent.handoffs = [handoff(built[target]) for target in descriptors[key].handoffs]
        return built[root.key]

    def _build_one(self, descriptor: AgentDescriptor) -> SdkAgent:
        specs = self._tools.specs(list(descriptor.tools)) if descriptor.tools else []
        output = (
            JsonSchemaOutput(f"{descriptor.key.replace('-', '_')}_output", descriptor.output_schema)
            if descriptor.output_schema is not None
            else None
        )
        return Agent[TurnState](
            name=descriptor.key,
            handoff_description=descriptor.description or None,
            instructions=descriptor.instructions,
            tools=[function_tool(spec, self._tools) for spec in specs],
            output_type=output,
            model=NO_MODEL,
        )
