"""Tools agents may call, behind ``ToolRegistryPort``: the registry and the shipped tools."""

from adapters.tools.default_set import default_tools
from adapters.tools.registry import ToolDefinition, ToolFailure, ToolRegistry

__all__ = ["ToolDefinition", "ToolFailure", "ToolRegistry", "default_tools"]
