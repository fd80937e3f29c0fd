"""Loads the default guardrail policies from a TOML file (``config/guardrails.toml``).

File shape::

    [[policies]]
    name = "default"
    description = "..."

    [[policies.rules]]
    type = "pii"            # max_length | blocked_terms | regex | pii | moderation
    kinds = ["card"]
    action = "redact"
    applies_to = "both"

Rules are the tagged union ``contracts.guardrails.GuardrailRule`` (tag field ``type``). Any problem (missing
file, invalid TOML, unknown or badly typed field, duplicate policy name, a rule ``validate_policy``
rejects) raises ``PolicyFileError`` with one message naming the file and the problem.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import msgspec

from adapters.guardrails.engine import validate_policy
from adapters.toml_files import read_toml
from contracts.guardrails import GuardrailPolicy, GuardrailRule

_RULE_FIELDS: dict[str, frozenset[str]] = {
    str(rule.__struct_config__.tag): frozenset(field.name for field in msgspec.structs.fields(rule))
    for rule in typing.get_args(GuardrailRule)
}


class PolicyFileError(ValueError):
    """The policy file cannot be used; the message names the file and the problem."""


class _PolicyFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    policies: tuple[GuardrailPolicy, ...] = ()


def load_policies(path: str | Path) -> list[GuardrailPolicy]:
    """The policies declared in ``path``, in file order, each validated."""
    path = Path(path)
    raw = _read(path)
    unknown = _unknown_rule_field(raw)
    if unknown is not None:
        raise PolicyFileError(f"guardrail policy file {path}: {unknown}")
    try:
        policies = msgspec.convert(raw, type=_PolicyFile).policies
    except msgspec.ValidationError as exc:
        raise PolicyFileError(f"guardrail policy file {path}: {exc}") from None
    names: set[str] = set()
    for policy in policies:
        if policy.name in names:
            raise PolicyFileError(f"guardrail policy file {path}: duplicate policy name {policy.name!r}")
        names.add(policy.name)
        problems = validate_policy(policy)
        if problems:
            raise PolicyFileError(f"guardrail policy file {path}: {problems[0]}")
    return list(policies)


def _read(path: Path) -> dict[str, Any]:
    return read_toml(path, "guardrail policy file", PolicyFileError)


def _unknown_rule_field(raw: dict[str, Any]) -> str | None:
    """Rule Structs accept unknown fields (they are outbound too); a policy file must not have any."""
    policies = raw.get("policies")
    if not isinstance(policies, list):
        return None
    for p_index, policy in enumerate(policies):
        rules = policy.get("rules") if isinstance(policy, dict) else None
        for r_index, rule in enumerate(rules if isinstance(rules, list) else []):
            known = _RULE_FIELDS.get(str(rule.get("type"))) if isinstance(rule, dict) else None
            extra = sorted(set(rule) - known - {"type"}) if known is not None else []
            if extra:
                where = f"$.policies[{p_index}].rules[{r_index}]"
                return f"Object contains unknown field `{extra[0]}` - at `{where}`"
    return None
