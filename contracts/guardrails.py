"""Guardrail policies, rules and decisions, neutral across providers.

A policy is an ordered list of rules. Each rule applies to ``input`` (the user's message, checked before
anything reaches a provider), ``output`` (the assistant's answer) or ``both``. ``action`` is ``block``
(stop the turn) or ``redact`` (replace the matches and go on).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.base import Struct

Stage = Literal["input", "output"]
Applies = Literal["input", "output", "both"]
Action = Literal["block", "redact"]
PiiKind = Literal["email", "phone", "card"]


class MaxLengthRule(Struct, frozen=True, kw_only=True, tag="max_length"):
    """Block a text longer than ``max_chars`` characters."""

    max_chars: Annotated[int, msgspec.Meta(ge=1)]
    applies_to: Applies = "input"


class BlockedTermsRule(Struct, frozen=True, kw_only=True, tag="blocked_terms"):
    """Block (or redact) whole-word, case-insensitive occurrences of any term."""

    terms: tuple[str, ...]
    action: Action = "block"
    applies_to: Applies = "both"


class RegexRule(Struct, frozen=True, kw_only=True, tag="regex"):
    """Block (or redact) matches of a regular expression (Python syntax)."""

    name: str
    pattern: str
    action: Action = "block"
    applies_to: Applies = "both"


class PiiRule(Struct, frozen=True, kw_only=True, tag="pii"):
    """Detect personal data: e-mail addresses, phone numbers, card numbers (Luhn-checked)."""

    kinds: tuple[PiiKind, ...] = ("email", "phone", "card")
    action: Action = "redact"
    applies_to: Applies = "both"


class ModerationRule(Struct, frozen=True, kw_only=True, tag="moderation"):
    """Ask a provider's moderation endpoint; block when a category's score reaches its threshold.

    ``thresholds`` maps category names (``harassment``, ``violence``...) to scores in [0, 1]; a category
    not listed blocks only when the provider flags it. ``provider`` names the provider instance to ask
    (``None``: the first enabled provider with the ``moderation`` capability).
    """

    thresholds: dict[str, float] = {}
    provider: str | None = None
    applies_to: Applies = "both"


GuardrailRule = MaxLengthRule | BlockedTermsRule | RegexRule | PiiRule | ModerationRule

PolicyName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]


StreamOutput = Literal["checked", "raw"]


class GuardrailPolicy(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A named, ordered list of rules.

    ``stream_output``: with ``checked`` (the default) a streamed answer's deltas pass the output rules as
    they are produced (redactions applied incrementally, text that could still match held back, blocking
    rules deciding before anything they would block goes out). ``raw`` opts out for the lowest latency:
    deltas reach the client unchecked and only the final event and the stored turn are checked.
    """

    name: PolicyName
    description: str = ""
    rules: tuple[GuardrailRule, ...] = ()
    stream_output: StreamOutput = "checked"


class GuardrailDecision(Struct, frozen=True, kw_only=True):
    """One rule's verdict on one text. ``rule`` is the rule's tag (``pii``, ``regex``...)."""

    policy: str
    rule: str
    stage: Stage
    action: Literal["block", "redact"]
    reason: str


class GuardrailOutcome(Struct, frozen=True, kw_only=True):
    """Every decision on a text, and the text to use if the turn goes on (redactions applied)."""

    allowed: bool
    text: str
    decisions: tuple[GuardrailDecision, ...] = ()
