"""Builds (and caches) SDK ``Agent``s from neutral ``AgentDescriptor``s of the catalog."""

from __future__ import annotations

from agents import Agent, Model, ModelSettings, OpenAIChatCompletionsModel, OpenAIResponsesModel

from adapters.providers.openai.agents.model import RetryingModel
from adapters.providers.openai.agents.output_schema import JsonSchemaOutput
from adapters.providers.openai.agents.tools import TurnContext, function_tool
from adapters.providers.openai.client import ClientHolder
from adapters.providers.openai.retry import RetryPolicy
from adapters.providers.openai.settings import OpenAISettings
from contracts.agents import AgentDescriptor
from contracts.ports import AgentCatalog, ToolRegistryPort

SdkAgent = Agent[TurnContext]


class AgentBuilder:
    """Turns catalog agents into SDK agents wired to this instance's client, tools and retries.

    An agent graph (the agent plus every agent reachable by handoffs) is built once per
    ``(agent key, model override)`` and reused by later turns.
    """

    def __init__(
        self,
        settings: OpenAISettings,
        clients: ClientHolder,
        catalog: AgentCatalog,
        tools: ToolRegistryPort,
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._catalog = catalog
        self._tools = tools
        self._policy = RetryPolicy(settings.max_retries, settings.retry_base_delay_s)
        self._cache: dict[tuple[str, str | None], SdkAgent] = {}

    def model_name(self, descriptor: AgentDescriptor, override: str | None) -> str:
        """The model an agent uses: the turn's override, else the agent's, else the instance default."""
        return override or descriptor.model or self._settings.model

    def model(self, name: str) -> Model:
        """An SDK model of the configured API mode on the shared client, with our retries."""
        client = self._clients.get()
        inner: Model
        if self._settings.api_mode == "chat_completions":
            inner = OpenAIChatCompletionsModel(model=name, openai_client=client)
        else:
            inner = OpenAIResponsesModel(model=name, openai_client=client)
        return RetryingModel(inner, self._policy, name)

    def agent(self, descriptor: AgentDescriptor, override: str | None = None) -> SdkAgent:
        """The SDK agent for ``descriptor`` (from the cache when built before)."""
        key = (descriptor.key, override)
        if key not in self._cache:
            self._cache[key] = self._build_graph(descriptor, override)
        return self._cache[key]

    def clear(self) -> None:
        """Forget every built agent (their models hold the client being closed)."""
        self._cache.clear()

    def _build_graph(self, root: AgentDescriptor, override: str | None) -> SdkAgent:
        built: dict[str, SdkAgent] = {}
        pending = [root]
        while pending:
            descriptor = pending.pop()
            if descriptor.key in built:
                continue
            built[descriptor.key] = self._build_one(descriptor, override)
            pending.extend(self._catalog.get(k) for k in descriptor.handoffs if k not in built)
        for key, agent in built.items():
            handoffs = self._catalog.get(key).handoffs if key != root.key else root.handoffs
            agent.handoffs = [built[k] for k in handoffs]
        return built[root.key]

    def _build_one(self, descriptor: AgentDescriptor, override: str | None) -> SdkAgent:
        specs = self._tools.specs(list(descriptor.tools)) if descriptor.tools else []
        output = (
            JsonSchemaOutput(f"{descriptor.key.replace('-', '_')}_output", descriptor.output_schema)
            if descriptor.output_schema is not None
            else None
        )
        chat = self._settings.api_mode == "chat_completions"
        model_settings = ModelSettings(include_usage=True) if chat else ModelSettings()
        return Agent[TurnContext](
            name=descriptor.key,
            handoff_description=descriptor.description or None,
            instructions=descriptor.instructions,
            tools=[function_tool(spec, self._tools) for spec in specs],
            model=self.model(self.model_name(descriptor, override)),
            model_settings=model_settings,
            output_type=output,
        )
