"""Fakes and builders shared by the OpenAI provider tests (imported as ``tests.providers.openai.fakes``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.providers.openai import KIND, OpenAISettings
from contracts.agents import AgentDescriptor
from contracts.errors import NotFound
from contracts.ports import AgentTurn
from contracts.tools import ToolCall, ToolContext, ToolResult, ToolSpec
from ops.mock_upstream import MockUpstream

API_KEY = "sk-test-secret-0123456789"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
LOOKUP = ToolSpec(
    name="lookup",
    description="Look something up.",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
AGENTS = {
    "assistant": AgentDescriptor(
        key="assistant",
        description="General helper.",
        instructions="You are a helpful assistant.",
        tools=("lookup",),
        handoffs=("billing",),
    ),
    "billing": AgentDescriptor(
        key="billing", description="Billing questions.", instructions="You answer billing questions only."
    ),
    "extractor": AgentDescriptor(
        key="extractor",
        description="Extracts facts.",
        instructions="Extract the city.",
        output_schema={
            "type": "object",
            "properties": {"city": {"type": "string"}, "count": {"type": "integer"}},
            "required": ["city", "count"],
        },
    ),
}


@dataclass
class FakeToolRegistry:
    """A ToolRegistryPort with one tool, ``lookup``, answering ``result for <query>``; records calls."""

    calls: list[tuple[ToolCall, ToolContext]] = field(default_factory=list)

    def specs(self, names: Sequence[str] | None = None) -> list[ToolSpec]:
        for name in names or ():
            if name != LOOKUP.name:
                raise NotFound("tool", name)
        return [LOOKUP]

    async def invoke(self, call: ToolCall, context: ToolContext) -> ToolResult:
        self.calls.append((call, context))
        query = call.arguments.get("query")
        if not isinstance(query, str):
            return ToolResult(call_id=call.call_id, name=call.name, output="query missing", is_error=True)
        return ToolResult(call_id=call.call_id, name=call.name, output=f"result for {query}")


class FakeCatalog:
    """An AgentCatalog over ``AGENTS``."""

    default_key = "assistant"

    def get(self, key: str) -> AgentDescriptor:
        if key not in AGENTS:
            raise NotFound("agent", key)
        return AGENTS[key]

    def all(self) -> list[AgentDescriptor]:
        return list(AGENTS.values())


def turn(text: str, *, agent: str = "assistant", history: tuple = ()) -> AgentTurn:
    """A turn of ``agent`` for tenant ``t1`` in conversation ``c1``."""
    return AgentTurn(
        agent=AGENTS[agent],
        history=history,
        input=text,
        context=ToolContext(tenant_id="t1", conversation_id="c1"),
    )


def settings_for(mock: MockUpstream, api_mode: str, **overrides: object) -> OpenAISettings:
    """Settings pointing at ``mock`` with fast retries."""
    values: dict[str, object] = {
        "api_key": API_KEY,
        "base_url": mock.base_url,
        "api_mode": api_mode,
        "retry_base_delay_s": 0.01,
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return KIND.settings_from(values)
