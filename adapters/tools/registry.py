"""``ToolRegistry``: the in-process ``ToolRegistryPort``.

A tool is a ``ToolDefinition``: a name, a description, a msgspec Struct describing its arguments (its JSON
Schema is what models see) and an async handler. ``invoke`` never raises for a bad call: an unknown tool,
arguments that do not fit the Struct, a ``ToolFailure`` or any other exception from the handler all become
``ToolResult(is_error=True)`` with a reason a model (and a user) can read. Cancellation still propagates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from contracts.errors import NotFound
from contracts.tools import ToolCall, ToolContext, ToolResult, ToolSpec

A = TypeVar("A", bound=msgspec.Struct)


class ToolFailure(Exception):
    """Raised by a tool handler for an expected failure; its message becomes the error result's output."""


@dataclass(frozen=True, slots=True)
class ToolDefinition(Generic[A]):
    """One tool: ``arguments`` is the Struct the call's arguments are converted to before ``handler`` runs."""

    name: str
    description: str
    arguments: type[A]
    handler: Callable[[A, ToolContext], Awaitable[str]]

    def spec(self) -> ToolSpec:
        return ToolSpec(
            name=self.name, description=self.description, parameters=_object_schema(self.arguments)
        )

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        return await self.handler(msgspec.convert(arguments, type=self.arguments), context)


def _object_schema(struct_type: type[msgspec.Struct]) -> dict[str, Any]:
    """The Struct's JSON Schema, inlined (msgspec puts it under ``$defs`` behind a ``$ref``)."""
    schema = msgspec.json.schema(struct_type)
    name = schema["$ref"].rsplit("/", 1)[-1]
    inlined: dict[str, Any] = dict(schema["$defs"][name])
    inlined.pop("title", None)
    inlined.pop("description", None)
    return inlined


class ToolRegistry:
    """The tools agents may call, by name. Implements ``ToolRegistryPort``."""

    def __init__(self, tools: Iterable[ToolDefinition[Any]]) -> None:
        self._tools: dict[str, ToolDefinition[Any]] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"tool {tool.name!r} is registered twice")
            self._tools[tool.name] = tool
        self._specs = {name: tool.spec() for name, tool in self._tools.items()}

    def names(self) -> set[str]:
        """Every registered tool name (for validating the agent catalog)."""
        return set(self._tools)

    def specs(self, names: Sequence[str] | None = None) -> list[ToolSpec]:
        if names is None:
            return list(self._specs.values())
        for name in names:
            if name not in self._specs:
                raise NotFound("tool", name)
        return [self._specs[name] for name in names]

    async def invoke(self, call: ToolCall, context: ToolContext) -> ToolResult:
        tool = self._tools.get(call.name)
        if tool is None:
            return _error(call, f"unknown tool {call.name!r}")
        try:
            output = await tool.call(call.arguments, context)
        except msgspec.ValidationError as exc:
            return _error(call, f"invalid arguments for {call.name}: {exc}")
        except ToolFailure as exc:
            return _error(call, str(exc))
        except Exception as exc:
            return _error(call, f"tool {call.name} failed unexpectedly ({type(exc).__name__})")
        return ToolResult(call_id=call.call_id, name=call.name, output=output)


def _error(call: ToolCall, reason: str) -> ToolResult:
    return ToolResult(call_id=call.call_id, name=call.name, output=reason, is_error=True)
