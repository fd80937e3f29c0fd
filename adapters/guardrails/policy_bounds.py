"""What a guardrail policy may contain: validated when it is written (``PUT``, the policy file).

Every bound is here so that docs/security.md can quote it. A policy that passes costs a bounded amount of
memory (compiled patterns, see ``patterns.py``) and a bounded amount of CPU per checked text (regex rules
also have a matching timeout). Problems name the rule and the bound, never the offending text.
"""

from __future__ import annotations

import msgspec

from adapters.guardrails.patterns import (
    MAX_TERM_CHARS,
    TERMS_COMPILE_LIMIT_S,
    TERMS_FLAGS,
    PatternRejected,
    rule_pattern,
    terms_pattern,
    terms_regex,
    timed_compile,
)
from contracts.guardrails import (
    BlockedTermsRule,
    GuardrailPolicy,
    ModerationRule,
    PiiRule,
    RegexRule,
)

MAX_POLICY_BYTES = 65_536
"""The policy as JSON."""
MAX_RULES = 32
MAX_REGEX_RULES = 16
"""Each regex rule may take up to its matching timeout per text: 16 x 50 ms bounds a check at 0.8 s."""
MAX_TERMS = 1_000
"""Blocked terms over all rules of a policy."""
MAX_DESCRIPTION_CHARS = 1_000
MAX_RULE_NAME_CHARS = 64
MAX_CATEGORIES = 64

_encoder = msgspec.json.Encoder()


def policy_problems(policy: GuardrailPolicy) -> list[str]:
    """Problems that make a policy unusable or too costly; empty when it is fine. Compiles its patterns
    (uncached) and measures the time: call it off the event loop."""
    size = len(_encoder.encode(policy))
    if size > MAX_POLICY_BYTES:
        return [f"policy {policy.name!r} is {size} bytes as JSON; the limit is {MAX_POLICY_BYTES}"]
    problems = _counts(policy)
    if problems:
        return problems
    for index, rule in enumerate(policy.rules):
        where = f"policy {policy.name!r} rules[{index}] ({type(rule).__struct_config__.tag})"
        if isinstance(rule, RegexRule):
            problems += _regex_problems(where, rule)
        elif isinstance(rule, BlockedTermsRule):
            problems += _terms_problems(where, rule)
        elif isinstance(rule, PiiRule):
            if not rule.kinds:
                problems.append(f"{where}: kinds must name at least one of email, phone, card")
        elif isinstance(rule, ModerationRule):
            if len(rule.thresholds) > MAX_CATEGORIES:
                problems.append(f"{where}: at most {MAX_CATEGORIES} thresholds")
            for category, threshold in sorted(rule.thresholds.items()):
                if not 0.0 <= threshold <= 1.0:
                    problems.append(f"{where}: threshold of {category!r} must be within [0, 1]")
    return problems


def _counts(policy: GuardrailPolicy) -> list[str]:
    problems = []
    if len(policy.description) > MAX_DESCRIPTION_CHARS:
        problems.append(f"policy {policy.name!r}: description is over {MAX_DESCRIPTION_CHARS} characters")
    if len(policy.rules) > MAX_RULES:
        problems.append(f"policy {policy.name!r} has {len(policy.rules)} rules; the limit is {MAX_RULES}")
    regexes = sum(isinstance(rule, RegexRule) for rule in policy.rules)
    if regexes > MAX_REGEX_RULES:
        problems.append(f"policy {policy.name!r} has {regexes} regex rules; the limit is {MAX_REGEX_RULES}")
    terms = sum(len(rule.terms) for rule in policy.rules if isinstance(rule, BlockedTermsRule))
    if terms > MAX_TERMS:
        problems.append(f"policy {policy.name!r} has {terms} blocked terms; the limit is {MAX_TERMS}")
    return problems


def _regex_problems(where: str, rule: RegexRule) -> list[str]:
    problems = []
    if not rule.name or len(rule.name) > MAX_RULE_NAME_CHARS:
        problems.append(f"{where}: name must be 1-{MAX_RULE_NAME_CHARS} characters")
    try:
        timed_compile(rule.pattern)
    except PatternRejected as exc:
        return [*problems, f"{where}: {exc}"]
    if rule_pattern(rule.pattern).search("") is not None:
        problems.append(f"{where}: the pattern matches empty text; it must match at least one character")
    return problems


def _terms_problems(where: str, rule: BlockedTermsRule) -> list[str]:
    if not rule.terms or any(not term.strip() for term in rule.terms):
        return [f"{where}: terms must be a non-empty list of non-blank terms"]
    longest = max(len(term) for term in rule.terms)
    if longest > MAX_TERM_CHARS:
        return [f"{where}: a term has {longest} characters; the limit is {MAX_TERM_CHARS}"]
    source = terms_pattern(rule.terms)
    assert source is not None
    try:
        timed_compile(source, TERMS_FLAGS, priced=False, limit_s=TERMS_COMPILE_LIMIT_S)
    except PatternRejected as exc:
        return [f"{where}: {exc}"]
    terms_regex(rule.terms)  # cached now, off the event loop: the first check will not compile it
    return []
