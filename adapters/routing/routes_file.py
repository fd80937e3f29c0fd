"""The routes file (``SWITCHBOARD_ROUTES_FILE``): ``[[routes]]`` tables, each a ``RouteSpec``.

File shape::

    [[routes]]
    name = "fast"                 # what clients and agents name (any characters but spaces)
    strategy = "weighted"         # optional: priority | weighted | least_busy | latency
    retries = 1                   # optional: retries on one deployment before falling back
    timeout_s = 30                # optional: no retry or fallback starts after this
    fallback = true               # optional

    [[routes.deployments]]
    provider = "openai"
    model = "gpt-4.1-mini"
    weight = 3
    handles = ["context_too_long"]
    max_in_flight = 200
    capabilities = { structured_output = false }

Unknown fields and wrong types are errors naming the field's path (``$.routes[0].deployments[1].weight``).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from adapters.toml_files import read_toml
from contracts.routing import RouteSpec


class RoutesFileError(ValueError):
    """The routes file cannot be used; the message names the file and the problem."""


class _RoutesFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    routes: tuple[RouteSpec, ...] = ()


def load_routes(path: str | Path) -> list[RouteSpec]:
    """Read and decode ``path`` (semantic checks, such as enabled providers, are the caller's)."""
    path = Path(path)
    raw = read_toml(path, "routes file", RoutesFileError)
    try:
        return list(msgspec.convert(raw, type=_RoutesFile).routes)
    except msgspec.ValidationError as exc:
        raise RoutesFileError(f"routes file {path}: {exc}") from None
