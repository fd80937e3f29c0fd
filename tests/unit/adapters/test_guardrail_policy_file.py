"""The guardrail policy file loader and the shipped config/guardrails.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.guardrails.engine import RuleEngineChecker
from adapters.guardrails.policy_file import PolicyFileError, load_policies
from contracts.guardrails import BlockedTermsRule, MaxLengthRule, PiiRule

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "guardrails.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "guardrails.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_policies_load() -> None:
    policies = {policy.name: policy for policy in load_policies(SHIPPED)}
    assert set(policies) >= {"default", "strict"}
    default = policies["default"].rules
    assert default[0] == MaxLengthRule(max_chars=16000, applies_to="input")
    assert default[1] == PiiRule(kinds=("card",), action="redact", applies_to="both")
    strict = policies["strict"].rules
    assert any(isinstance(rule, BlockedTermsRule) for rule in strict)
    assert PiiRule(kinds=("email", "phone", "card"), action="block", applies_to="input") in strict


async def test_shipped_default_policy_masks_cards_in_answers() -> None:
    default = next(policy for policy in load_policies(SHIPPED) if policy.name == "default")
    outcome = await RuleEngineChecker().check(default, "output", "your card 4111 1111 1111 1111")
    assert outcome.allowed
    assert outcome.text == "your card [card]"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="file not found"):
        load_policies(tmp_path / "none.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="invalid TOML"):
        load_policies(write(tmp_path, "[[policies]\n"))


def test_unknown_rule_type(tmp_path: Path) -> None:
    text = '[[policies]]\nname = "p"\n[[policies.rules]]\ntype = "telepathy"\n'
    with pytest.raises(
        PolicyFileError, match=r"Invalid value 'telepathy' - at `\$\.policies\[0\]\.rules\[0\]\.type`"
    ):
        load_policies(write(tmp_path, text))


def test_unknown_rule_field(tmp_path: Path) -> None:
    text = '[[policies]]\nname = "p"\n[[policies.rules]]\ntype = "pii"\nkind = ["email"]\n'
    with pytest.raises(PolicyFileError, match=r"unknown field `kind` - at `\$\.policies\[0\]\.rules\[0\]`"):
        load_policies(write(tmp_path, text))


def test_badly_typed_field(tmp_path: Path) -> None:
    text = '[[policies]]\nname = "p"\n[[policies.rules]]\ntype = "max_length"\nmax_chars = 0\n'
    with pytest.raises(
        PolicyFileError, match=r"Expected `int` >= 1 - at `\$\.policies\[0\]\.rules\[0\]\.max_chars`"
    ):
        load_policies(write(tmp_path, text))


def test_duplicate_policy_name(tmp_path: Path) -> None:
    text = '[[policies]]\nname = "p"\n[[policies]]\nname = "p"\n'
    with pytest.raises(PolicyFileError, match="duplicate policy name 'p'"):
        load_policies(write(tmp_path, text))


def test_invalid_rule_content(tmp_path: Path) -> None:
    text = '[[policies]]\nname = "p"\n[[policies.rules]]\ntype = "regex"\nname = "r"\npattern = "("\n'
    with pytest.raises(
        PolicyFileError, match=r"guardrails\.toml: policy 'p' rules\[0\] \(regex\): invalid regular"
    ):
        load_policies(write(tmp_path, text))
