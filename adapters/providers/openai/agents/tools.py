"""Neutral ``ToolSpec``s as SDK ``FunctionTool``s that call the ``ToolRegistryPort``.

No ``from __future__ import annotations`` here, on purpose: the SDK reads the tool function's type hints
(``typing.get_type_hints``) on every tool call, and string annotations would be compiled each time.
"""

from typing import Any

import structlog
from agents import FunctionTool
from agents.tool_context import ToolContext as SdkToolContext

from adapters.providers.openai.agents.input_items import decode_arguments
from adapters.providers.openai.agents.turn_state import TurnState
from contracts.ports import ToolRegistryPort
from contracts.tools import ToolCall, ToolResult, ToolSpec

log = structlog.get_logger("switchboard.openai.agents")


def function_tool(spec: ToolSpec, registry: ToolRegistryPort) -> FunctionTool:
    """An SDK tool that invokes ``spec.name`` through ``registry`` with the turn's ``ToolContext`` and
    records the neutral result (name, output, error flag) in the turn's ``TurnState``."""

    async def on_invoke(ctx: SdkToolContext[Any], arguments: str) -> str:
        turn: TurnState = ctx.context
        call = ToolCall(call_id=ctx.tool_call_id, name=spec.name, arguments=decode_arguments(arguments))
        try:
            result = await registry.invoke(call, turn.tool_context)
        except Exception as exc:
            # The port promises results, not exceptions; a broken tool is still an error result.
            log.error("tool.crashed", tool=spec.name, error=type(exc).__name__)
            result = ToolResult(call_id=call.call_id, name=spec.name, output="the tool failed", is_error=True)
        turn.results[call.call_id] = result
        return result.output

    return FunctionTool(
        name=spec.name,
        description=spec.description,
        params_json_schema=spec.parameters,
        on_invoke_tool=on_invoke,
        strict_json_schema=False,
    )
