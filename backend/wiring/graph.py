"""A declarative dependency graph: which factory provides each port, and what each factory needs.

svcs records no graph (LIBRARY_NOTES.md), so this is our own: a factory's needs are read from its
signature (``inspect.signature(..., eval_str=True)``), every parameter must be annotated with a type that
the graph provides (a port, a settings Struct or a resource), and the whole graph is checked — every
required port provided, every need met, no cycle — before anything is built.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class GraphError(Exception):
    """The graph cannot be built; the message names the missing edge or the cycle."""


@dataclass(frozen=True, slots=True)
class Provide:
    """``port`` is provided by ``factory`` (sync or async). ``label`` says which adapter, for humans.

    ``close``/``ping`` name methods of the built object that svcs calls on registry close / for health.
    ``per_request`` services (objects composed of ports, with no state of their own) are built from the
    first request's container, so that an override registered for a port after the build reaches them too,
    then shared.
    """

    port: type
    factory: Callable[..., Any]
    label: str = ""
    close: str | None = None
    ping: str | None = None
    per_request: bool = False


def type_name(tp: type) -> str:
    return getattr(tp, "__name__", repr(tp))


class Graph:
    """Provides plus plain values (settings), validated as a whole."""

    def __init__(self, provides: Sequence[Provide], values: Mapping[type, object]) -> None:
        self.provides = {p.port: p for p in provides}
        self.values = dict(values)
        if len(self.provides) != len(provides):
            raise GraphError("two factories provide the same port")

    def needs(self, provide: Provide) -> dict[str, type]:
        """Parameter name -> the type it needs, from the factory's signature."""
        signature = inspect.signature(provide.factory, eval_str=True)
        needs: dict[str, type] = {}
        for name, param in signature.parameters.items():
            if param.annotation is inspect.Parameter.empty:
                raise GraphError(f"{_where(provide)}: parameter {name!r} has no type annotation")
            needs[name] = param.annotation
        return needs

    def validate(self, required: Iterable[type]) -> list[Provide]:
        """Check the graph and return the provides in build order (dependencies first)."""
        problems: list[str] = []
        for port in required:
            if port not in self.provides and port not in self.values:
                problems.append(f"nothing provides {type_name(port)}, which the service needs")
        for provide in self.provides.values():
            for name, needed in self.needs(provide).items():
                if needed not in self.provides and needed not in self.values:
                    problems.append(
                        f"{_where(provide)} needs {type_name(needed)} (parameter {name!r}), "
                        "which nothing provides"
                    )
        if problems:
            raise GraphError("; ".join(problems))
        return self._order()

    def _order(self) -> list[Provide]:
        order: list[Provide] = []
        state: dict[type, str] = {}

        def visit(port: type, path: list[type]) -> None:
            if state.get(port) == "done" or port in self.values:
                return
            if state.get(port) == "visiting":
                cycle = " -> ".join(type_name(t) for t in [*path[path.index(port) :], port])
                raise GraphError(f"dependency cycle: {cycle}")
            state[port] = "visiting"
            provide = self.provides[port]
            for needed in self.needs(provide).values():
                visit(needed, [*path, port])
            state[port] = "done"
            order.append(provide)

        for port in self.provides:
            visit(port, [])
        return order

    def edges(self) -> list[tuple[str, str]]:
        """(consumer, dependency) pairs by type name, for printing."""
        return [
            (type_name(p.port), type_name(needed))
            for p in self.provides.values()
            for needed in self.needs(p).values()
        ]

    def render_text(self) -> str:
        lines = []
        for provide in self._order():
            needs = ", ".join(type_name(t) for t in self.needs(provide).values()) or "-"
            lines.append(
                f"{type_name(provide.port):<22} <- {provide.label or _where(provide):<40} needs: {needs}"
            )
        return "\n".join(lines)

    def render_mermaid(self) -> str:
        lines = ["graph LR"]
        for provide in self._order():
            node = type_name(provide.port)
            lines.append(f'  {node}["{node}<br/><small>{provide.label}</small>"]')
        for consumer, dependency in self.edges():
            lines.append(f"  {consumer} --> {dependency}")
        return "\n".join(lines)


def _where(provide: Provide) -> str:
    return getattr(provide.factory, "__qualname__", repr(provide.factory))
