"""``RuleEngineChecker``: applies a ``GuardrailPolicy``'s rules to one text, provider-neutrally.

Rules run in policy order, each only when its ``applies_to`` covers the stage. A ``redact`` rule replaces
its matches (``[redacted]`` for blocked terms and regexes, ``[email]``/``[phone]``/``[card]`` for PII) and
later rules see the redacted text. The first ``block`` ends evaluation with ``allowed=False``. Decision
reasons say which rule fired and how often, never the matched text.

Moderation rules ask a provider's ``ModerationCheck`` (looked up by provider name); without a lookup, or
when the check fails, they block (fail closed) with a reason saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import regex

from adapters.guardrails.patterns import PatternRejected, is_compiled, rule_pattern, terms_regex
from adapters.guardrails.pii import find_pii, redact
from adapters.guardrails.policy_bounds import policy_problems
from adapters.guardrails.stream_filter import StreamFilter, stream_filter
from contracts.guardrails import (
    Action,
    BlockedTermsRule,
    GuardrailDecision,
    GuardrailOutcome,
    GuardrailPolicy,
    GuardrailRule,
    MaxLengthRule,
    ModerationRule,
    PiiRule,
    RegexRule,
    Stage,
)
from contracts.ports import ModerationCheck

REDACTED = "[redacted]"
Verdict = tuple[Action, str, str]
"""A rule's finding: its action, the reason, and the text after it (redacted, or unchanged on block)."""


REGEX_TIMEOUT_S = 0.05
"""A tenant's regex rule may not hold the event loop longer than this (catastrophic backtracking)."""


class RuleEngineChecker:
    """Implements ``GuardrailChecker`` with the neutral rules of ``contracts.guardrails``."""

    def __init__(self, moderation: Callable[[str | None], ModerationCheck] | None = None) -> None:
        self._moderation = moderation

    async def check(self, policy: GuardrailPolicy, stage: Stage, text: str) -> GuardrailOutcome:
        await _warm(policy)
        decisions: list[GuardrailDecision] = []
        for rule in policy.rules:
            if rule.applies_to not in (stage, "both"):
                continue
            verdict = await self._evaluate(rule, text)
            if verdict is None:
                continue
            action, reason, text = verdict
            tag = type(rule).__struct_config__.tag
            decisions.append(
                GuardrailDecision(
                    policy=policy.name, rule=str(tag), stage=stage, action=action, reason=reason
                )
            )
            if action == "block":
                return GuardrailOutcome(allowed=False, text=text, decisions=tuple(decisions))
        return GuardrailOutcome(allowed=True, text=text, decisions=tuple(decisions))

    def output_filter(self, policy: GuardrailPolicy) -> StreamFilter | None:
        """Incremental output rules for one stream (``stream_filter.py``)."""
        return stream_filter(policy)

    def problems(self, policy: GuardrailPolicy) -> list[str]:
        """What is wrong with ``policy`` before it is stored (see ``validate_policy``)."""
        return validate_policy(policy)

    async def _evaluate(self, rule: GuardrailRule, text: str) -> Verdict | None:
        if isinstance(rule, MaxLengthRule):
            if len(text) > rule.max_chars:
                return "block", f"text has {len(text)} characters; the limit is {rule.max_chars}", text
            return None
        if isinstance(rule, BlockedTermsRule):
            return _substitute(terms_regex(rule.terms), rule.action, text, "blocked term")
        if isinstance(rule, RegexRule):
            return _regex(rule, text)
        if isinstance(rule, PiiRule):
            return _pii(rule, text)
        return await self._moderate(rule, text)

    async def _moderate(self, rule: ModerationRule, text: str) -> Verdict | None:
        if self._moderation is None:
            return "block", "moderation is required but no provider offers it", text
        try:
            flagged, scores = await self._moderation(rule.provider).moderate(text)
        except Exception as exc:
            return "block", f"moderation check failed ({type(exc).__name__}); blocking to be safe", text
        for category, score in sorted(scores.items()):
            threshold = rule.thresholds.get(category)
            if threshold is not None and score >= threshold:
                return "block", f"moderation: {category} scored {score:.2f} (threshold {threshold:.2f})", text
        if flagged:
            top = max(scores, key=scores.__getitem__) if scores else None
            if top is None or top not in rule.thresholds:
                return "block", f"moderation flagged the text (top category: {top or 'unknown'})", text
        return None


async def _warm(policy: GuardrailPolicy) -> None:
    """Compile the policy's patterns (every stage: a stream's output filter needs them at once) in a
    worker thread when they are not cached yet, so a cache miss never stalls the event loop."""
    for rule in policy.rules:
        if isinstance(rule, RegexRule) and not is_compiled(rule.pattern):
            await asyncio.to_thread(_compile_quietly, rule.pattern)
        elif isinstance(rule, BlockedTermsRule) and not is_compiled(rule.terms):
            await asyncio.to_thread(terms_regex, rule.terms)


def _compile_quietly(pattern: str) -> None:
    with contextlib.suppress(PatternRejected, regex.error):  # such a rule blocks when it is evaluated
        rule_pattern(pattern)


def _substitute(pattern: regex.Pattern[str] | None, action: Action, text: str, what: str) -> Verdict | None:
    if pattern is None:
        return None
    try:
        redacted, count = pattern.subn(REDACTED, text, timeout=REGEX_TIMEOUT_S)
    except TimeoutError:
        return "block", f"{what} check took too long to evaluate; blocking to be safe", text
    if count == 0:
        return None
    if action == "block":
        return "block", f"contains {count} {what} match(es)", text
    return "redact", f"redacted {count} {what} match(es)", redacted


def _regex(rule: RegexRule, text: str) -> Verdict | None:
    what = f"pattern {rule.name!r}"
    try:
        redacted, count = rule_pattern(rule.pattern).subn(REDACTED, text, timeout=REGEX_TIMEOUT_S)
    except (regex.error, PatternRejected):
        return "block", f"{what} is not a valid regular expression; blocking to be safe", text
    except TimeoutError:
        return "block", f"{what} took too long to evaluate; blocking to be safe", text
    if count == 0:
        return None
    if rule.action == "block":
        return "block", f"contains {count} {what} match(es)", text
    return "redact", f"redacted {count} {what} match(es)", redacted


def _pii(rule: PiiRule, text: str) -> Verdict | None:
    matches = find_pii(text, rule.kinds)
    if not matches:
        return None
    counts = {kind: sum(match.kind == kind for match in matches) for kind in rule.kinds}
    summary = ", ".join(f"{kind} x{count}" for kind, count in counts.items() if count)
    if rule.action == "block":
        return "block", f"contains personal data: {summary}", text
    return "redact", f"redacted personal data: {summary}", redact(text, matches)


def validate_policy(policy: GuardrailPolicy) -> list[str]:
    """Problems that make a policy unusable or too costly (``policy_bounds.py``); empty when it is fine.
    Compiles and times the policy's patterns: off the event loop when a request writes a policy."""
    return policy_problems(policy)
