"""Misspelt and misplaced ``SWITCHBOARD_*`` variables, found before they silently do nothing.

``load_settings`` reads only the variables it knows, so a typo (``SWITCHBOARD_DEFAULT_PROVDER``) or the
settings of an instance that is not enabled (``SWITCHBOARD_PROVIDER_OPENIA_BASE_URL``: the real key then
goes to the default endpoint) would be ignored without a word. Here:

- a variable that is close to a known one is an **error** naming the closest valid name;
- the settings of an instance close to an enabled one are an **error** naming the enabled one's variable;
- other unknown variables, and the settings of an instance that is simply not enabled (a provider
  switched off by removing it from ``SWITCHBOARD_PROVIDERS`` is a legitimate use), are **warnings**;
- an instance listed twice in ``SWITCHBOARD_PROVIDERS`` is an error.

Known names are the settings table's plus the open-ended families: ``SWITCHBOARD_PROVIDER_<NAME>_<FIELD>``
and the routing variables (``SWITCHBOARD_ROUTE_<ALIAS>``, ``SWITCHBOARD_ROUTING_*``,
``SWITCHBOARD_ROUTES_FILE``, ``SWITCHBOARD_DEFAULT_ROUTE_FALLBACK``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

PREFIX = "SWITCHBOARD_"
INSTANCE_PREFIX = "SWITCHBOARD_PROVIDER_"
OPEN_FAMILIES = ("SWITCHBOARD_ROUTE_", "SWITCHBOARD_ROUTING_")
EXTRA_NAMES = ("SWITCHBOARD_PROVIDERS", "SWITCHBOARD_ROUTES_FILE", "SWITCHBOARD_DEFAULT_ROUTE_FALLBACK")
CUTOFF = 0.8
INSTANCE_CUTOFF = 0.6


def environment_problems(env: Mapping[str, str], known: Iterable[str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the ``SWITCHBOARD_*`` variables of ``env``."""
    names = {*known, *EXTRA_NAMES}
    raw_providers = env.get("SWITCHBOARD_PROVIDERS", "scripted")
    listed = [name.strip().lower() for name in raw_providers.split(",") if name.strip()]
    errors = [
        f"SWITCHBOARD_PROVIDERS lists {name!r} {listed.count(name)} times; list each provider once"
        for name in sorted({n for n in listed if listed.count(n) > 1})
    ]
    warnings: list[str] = []
    enabled = sorted(set(listed), key=len, reverse=True)
    for variable in sorted(env):
        if not variable.startswith(PREFIX) or variable in names or variable.startswith(OPEN_FAMILIES):
            continue
        if variable.startswith(INSTANCE_PREFIX):
            _instance_variable(variable, enabled, errors, warnings)
            continue
        close = difflib.get_close_matches(
            variable, [*names, *(f"{f}<NAME>" for f in OPEN_FAMILIES)], 1, CUTOFF
        )
        if close:
            errors.append(f"{variable} is not a Switchboard variable; did you mean {close[0]}?")
        else:
            warnings.append(f"{variable} is not a Switchboard variable; it is ignored")
    return errors, warnings


def _instance_variable(variable: str, enabled: list[str], errors: list[str], warnings: list[str]) -> None:
    rest = variable[len(INSTANCE_PREFIX) :].lower()
    if any(rest.startswith(name + "_") for name in enabled):
        return  # an enabled instance's field: its kind checks the field name
    instance, _, field = rest.partition("_")
    close = difflib.get_close_matches(instance, enabled, 1, INSTANCE_CUTOFF)
    if close and field:
        errors.append(
            f"{variable} names provider {instance!r}, which is not in SWITCHBOARD_PROVIDERS; did you mean "
            f"{INSTANCE_PREFIX}{close[0].upper()}_{field.upper()}?"
        )
    else:
        warnings.append(
            f"{variable} is for provider {instance!r}, which is not in SWITCHBOARD_PROVIDERS; it is ignored "
            "until that provider is enabled"
        )
