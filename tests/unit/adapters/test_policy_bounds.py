"""Guardrail policies are priced before anything is compiled: hostile patterns and oversized policies are
refused with a reason naming the bound, fast and without growing the process; the compiled-pattern cache
stays within its budget."""

from __future__ import annotations

import resource
import time

import pytest

from adapters.guardrails.engine import RuleEngineChecker, validate_policy
from adapters.guardrails.patterns import (
    MAX_PROGRAM_UNITS,
    PatternCache,
    PatternRejected,
    program_units,
    terms_pattern,
)
from adapters.guardrails.policy_bounds import MAX_RULES, MAX_TERMS
from contracts.guardrails import BlockedTermsRule, GuardrailPolicy, MaxLengthRule, RegexRule


def policy(*rules: object, description: str = "") -> GuardrailPolicy:
    return GuardrailPolicy(name="p", description=description, rules=tuple(rules))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?:(?:a{1000}){1000}){1000}", "program units"),
        ("(?:a{100}){100}", "program units"),
        ("a{5000}", "repetition count of 5000"),
        ("a{1,100000}", "repetition count of 100000"),
        ("x" * 1001, "1001 characters"),
        ("(unclosed", "invalid regular expression"),
        (r"\p{L}+", "invalid regular expression"),  # regex-only syntax is not accepted: it cannot be priced
    ],
)
def test_hostile_patterns_are_refused_before_compiling(pattern: str, reason: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    problems = validate_policy(policy(RegexRule(name="r", pattern=pattern)))
    assert time.perf_counter() - start < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: no blow-up
    assert len(problems) == 1 and reason in problems[0]
    assert pattern not in problems[0] or len(pattern) < 12  # the reason never echoes a long pattern


def test_reasonable_patterns_pass_and_their_size_is_counted() -> None:
    assert validate_policy(policy(RegexRule(name="ssn", pattern=r"\b\d{3}-\d{2}-\d{4}\b"))) == []
    assert program_units("a{10}") == 10
    assert program_units("(?:ab){3}") == 6
    assert program_units("(?:a{50}){50}") == 2500 <= MAX_PROGRAM_UNITS
    with pytest.raises(PatternRejected):
        program_units("(?:a{100}){51}")


def test_rule_and_term_counts_and_total_size_are_bounded() -> None:
    many_rules = policy(*[MaxLengthRule(max_chars=10)] * (MAX_RULES + 1))
    assert "rules; the limit is" in validate_policy(many_rules)[0]
    many_terms = policy(BlockedTermsRule(terms=tuple(f"t{n}" for n in range(MAX_TERMS + 1))))
    assert "blocked terms; the limit is" in validate_policy(many_terms)[0]
    huge = policy(BlockedTermsRule(terms=tuple("x" * 90 + str(n) for n in range(900))))
    assert "bytes as JSON" in validate_policy(huge)[0]
    long_term = policy(BlockedTermsRule(terms=("y" * 101,)))
    assert "101 characters" in validate_policy(long_term)[0]
    twenty_thousand = policy(BlockedTermsRule(terms=tuple(f"w{n}" for n in range(20_000))))
    start = time.perf_counter()
    assert validate_policy(twenty_thousand)
    assert time.perf_counter() - start < 1.0


def test_the_pattern_cache_keeps_within_its_budget() -> None:
    cache = PatternCache(budget=100)
    for n in range(50):
        cache.get(f"a{{{n + 1}}}", 0, n + 1)
        assert cache.used_units <= 100
    assert 0 < len(cache) < 50
    newest = cache.get("a{50}", 0, 50)
    assert cache.get("a{50}", 0, 50) is newest  # a hit is the same compiled object


async def test_terms_trie_matches_like_a_longest_first_alternation() -> None:
    terms = ("secret", "secret plan", "plan b", "sec")
    rule = BlockedTermsRule(terms=terms, action="redact")
    outcome = await RuleEngineChecker().check(policy(rule), "input", "The SECRET plan, plan B and sec.")
    assert outcome.text == "The [redacted], [redacted] and [redacted]."
    assert terms_pattern(("  ",)) is None


async def test_a_thousand_terms_check_a_long_text_quickly() -> None:
    terms = tuple(f"forbidden phrase number {n} of the list" for n in range(MAX_TERMS))
    rule = BlockedTermsRule(terms=terms, action="redact")
    assert validate_policy(policy(rule)) == []
    text = "an innocent sentence that mentions forbidden things " * 800  # ~42,000 characters
    start = time.perf_counter()
    outcome = await RuleEngineChecker().check(policy(rule), "input", text)
    assert outcome.allowed and time.perf_counter() - start < 2.0  # a sanity bound on a shared machine
