"""Neutral ``ToolSpec``s as SDK ``FunctionTool``s that call the ``ToolRegistryPort``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents import FunctionTool, RunContextWrapper

from adapters.providers.openai.agents.mapping import decode_arguments
from contracts.ports import ToolRegistryPort
from contracts.tools import ToolCall, ToolContext, ToolResult, ToolSpec


@dataclass(slots=True)
class TurnContext:
    """The SDK run context of one turn: who is calling (for tools) and each tool's neutral result."""

    tool_context: ToolContext
    results: dict[str, ToolResult] = field(default_factory=dict)


def function_tool(spec: ToolSpec, registry: ToolRegistryPort) -> FunctionTool:
    """An SDK tool that invokes ``spec.name`` through ``registry`` with the turn's ``ToolContext``."""

    async def on_invoke(ctx: RunContextWrapper[Any], arguments: str) -> str:
        turn: TurnContext = ctx.context
        call_id = str(getattr(ctx, "tool_call_id", "") or "")
        call = ToolCall(call_id=call_id, name=spec.name, arguments=decode_arguments(arguments))
        result = await registry.invoke(call, turn.tool_context)
        turn.results[call_id] = result
        return result.output

    return FunctionTool(
        name=spec.name,
        description=spec.description,
        params_json_schema=spec.parameters,
        on_invoke_tool=on_invoke,
        strict_json_schema=False,
    )
