"""``TomlAgentCatalog``: the ``AgentCatalog`` read from a TOML file (``config/agents.toml``).

File shape::

    default = "assistant"          # optional: the first agent when absent

    [[agents]]
    key = "assistant"
    description = "..."
    instructions = "..."
    tools = ["calculator"]
    handoffs = ["concise"]

Each ``[[agents]]`` table is an ``AgentDescriptor``. Loading checks everything once and raises
``CatalogError`` with one message naming the file and the first problem: a missing or unreadable file,
invalid TOML, an unknown or badly typed field (with its path, e.g. ``$.agents[1].tools``), a duplicate
key, an unknown default, a handoff to an undeclared agent, a tool the registry does not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from adapters.toml_files import read_toml
from contracts.agents import AgentDescriptor
from contracts.errors import NotFound

_AGENT_FIELDS = frozenset(field.name for field in msgspec.structs.fields(AgentDescriptor))


class CatalogError(ValueError):
    """The catalog file cannot be used; the message names the file and the problem."""


class _CatalogFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    default: str | None = None
    agents: tuple[AgentDescriptor, ...] = ()


class TomlAgentCatalog:
    """The agents declared in a TOML file, validated at load. Implements ``AgentCatalog``."""

    def __init__(self, agents: list[AgentDescriptor], default_key: str) -> None:
        self._agents = {agent.key: agent for agent in agents}
        self._default_key = default_key

    @classmethod
    def load(cls, path: str | Path, *, known_tools: set[str]) -> TomlAgentCatalog:
        """Read and validate ``path``; ``known_tools`` are the names the tool registry offers."""
        path = Path(path)
        parsed = _decode(path, _read(path))
        problem = _problem(parsed, known_tools)
        if problem is not None:
            raise CatalogError(f"agent catalog {path}: {problem}")
        return cls(list(parsed.agents), parsed.default or parsed.agents[0].key)

    @property
    def default_key(self) -> str:
        return self._default_key

    def get(self, key: str) -> AgentDescriptor:
        try:
            return self._agents[key]
        except KeyError:
            raise NotFound("agent", key) from None

    def all(self) -> list[AgentDescriptor]:
        return list(self._agents.values())


def _read(path: Path) -> dict[str, Any]:
    return read_toml(path, "agent catalog", CatalogError)


def _decode(path: Path, raw: dict[str, Any]) -> _CatalogFile:
    agents = raw.get("agents")
    if isinstance(agents, list):
        for index, table in enumerate(agents):
            unknown = sorted(set(table) - _AGENT_FIELDS) if isinstance(table, dict) else []
            if unknown:
                where = f"`$.agents[{index}]`"
                raise CatalogError(
                    f"agent catalog {path}: Object contains unknown field `{unknown[0]}` - at {where}"
                )
    try:
        return msgspec.convert(raw, type=_CatalogFile)
    except msgspec.ValidationError as exc:
        raise CatalogError(f"agent catalog {path}: {exc}") from None


def _problem(parsed: _CatalogFile, known_tools: set[str]) -> str | None:
    if not parsed.agents:
        return "declares no agents (add [[agents]] tables)"
    keys: set[str] = set()
    for agent in parsed.agents:
        if agent.key in keys:
            return f"duplicate agent key {agent.key!r}"
        keys.add(agent.key)
    if parsed.default is not None and parsed.default not in keys:
        return f"default agent {parsed.default!r} is not declared"
    for agent in parsed.agents:
        for target in agent.handoffs:
            if target not in keys:
                return f"agent {agent.key!r} hands off to unknown agent {target!r}"
        for tool in agent.tools:
            if tool not in known_tools:
                known = ", ".join(sorted(known_tools)) or "none"
                return f"agent {agent.key!r} uses unknown tool {tool!r} (known tools: {known})"
    return None
