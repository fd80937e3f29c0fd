"""The neutral guardrail rule engine: each rule, redaction chaining, blocking, and privacy of reasons."""

from __future__ import annotations

import pytest

from adapters.guardrails.engine import RuleEngineChecker, validate_policy
from adapters.guardrails.pii import luhn_valid
from contracts.errors import InvalidRequest
from contracts.guardrails import (
    BlockedTermsRule,
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

VALID_CARD = "4111 1111 1111 1111"
INVALID_CARD = "4111 1111 1111 1112"


class FakeModeration:
    """Returns a fixed verdict and records what it was asked."""

    def __init__(self, flagged: bool, scores: dict[str, float]) -> None:
        self.flagged, self.scores = flagged, scores
        self.texts: list[str] = []

    async def moderate(self, text: str) -> tuple[bool, dict[str, float]]:
        self.texts.append(text)
        return self.flagged, self.scores


async def check(
    *rules: GuardrailRule, text: str, stage: Stage = "input", checker: RuleEngineChecker | None = None
) -> GuardrailOutcome:
    policy = GuardrailPolicy(name="test", rules=rules)
    return await (checker or RuleEngineChecker()).check(policy, stage, text)


async def test_no_rules_allow_the_text_unchanged() -> None:
    assert await check(text="hi") == GuardrailOutcome(allowed=True, text="hi")


async def test_max_length_blocks_longer_texts_only() -> None:
    assert (await check(MaxLengthRule(max_chars=5), text="12345")).allowed
    outcome = await check(MaxLengthRule(max_chars=5), text="123456")
    assert not outcome.allowed
    assert outcome.decisions[0].rule == "max_length"
    assert outcome.decisions[0].reason == "text has 6 characters; the limit is 5"


async def test_rules_apply_only_to_their_stage() -> None:
    rule = MaxLengthRule(max_chars=1, applies_to="input")
    assert (await check(rule, text="long", stage="output")).allowed
    both = BlockedTermsRule(terms=("bad",), applies_to="both")
    assert not (await check(both, text="bad", stage="output")).allowed


async def test_blocked_terms_match_whole_words_case_insensitively() -> None:
    rule = BlockedTermsRule(terms=("secret plan",))
    assert (await check(rule, text="secret planning")).allowed
    outcome = await check(rule, text="The SECRET Plan is here")
    assert not outcome.allowed
    assert outcome.decisions[0].action == "block"
    assert "secret" not in outcome.decisions[0].reason.lower()


async def test_blocked_terms_redact() -> None:
    outcome = await check(BlockedTermsRule(terms=("darn", "heck"), action="redact"), text="Darn it, heck!")
    assert outcome.allowed
    assert outcome.text == "[redacted] it, [redacted]!"
    assert outcome.decisions[0].reason == "redacted 2 blocked term match(es)"


async def test_regex_blocks_and_redacts() -> None:
    blocking = RegexRule(name="ticket", pattern=r"TCK-\d+")
    assert not (await check(blocking, text="see TCK-42")).allowed
    redacting = RegexRule(name="ticket", pattern=r"TCK-\d+", action="redact")
    outcome = await check(redacting, text="see TCK-42 and TCK-7")
    assert outcome.text == "see [redacted] and [redacted]"
    assert "TCK-42" not in outcome.decisions[0].reason


async def test_invalid_regex_fails_closed() -> None:
    outcome = await check(RegexRule(name="broken", pattern="("), text="anything")
    assert not outcome.allowed
    assert "not a valid regular expression" in outcome.decisions[0].reason


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("mail jane.doe@example.com now", "mail [email] now"),
        ("call +33 1 23 45 67 89 today", "call [phone] today"),
        ("call (555) 123-4567", "call [phone]"),
        ("call 030 1234567", "call [phone]"),
        (f"pay with {VALID_CARD}", "pay with [card]"),
        ("pay with 4111-1111-1111-1111", "pay with [card]"),
        ("amex 378282246310005", "amex [card]"),
    ],
)
async def test_pii_redacts_each_kind(text: str, redacted: str) -> None:
    outcome = await check(PiiRule(), text=text)
    assert outcome.allowed
    assert outcome.text == redacted


@pytest.mark.parametrize(
    "text",
    [
        f"number {INVALID_CARD}",  # fails Luhn: neither card nor phone
        "order 12345678",  # bare number without separators
        "on 2024-05-01",  # an ISO date
        "room 12-34",  # too few digits
    ],
)
async def test_pii_leaves_non_personal_numbers_alone(text: str) -> None:
    outcome = await check(PiiRule(), text=text)
    assert outcome == GuardrailOutcome(allowed=True, text=text)


def test_luhn_check() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


async def test_phone_never_fires_on_a_card_even_when_cards_are_not_checked() -> None:
    outcome = await check(PiiRule(kinds=("phone",)), text=f"card {VALID_CARD}")
    assert outcome == GuardrailOutcome(allowed=True, text=f"card {VALID_CARD}")


async def test_pii_only_detects_the_listed_kinds() -> None:
    outcome = await check(PiiRule(kinds=("card",)), text=f"a@b.io {VALID_CARD}")
    assert outcome.text == "a@b.io [card]"


async def test_pii_block_reason_names_kinds_but_never_the_data() -> None:
    text = f"I am jane@example.com, card {VALID_CARD}, phone +1 555 123 4567"
    outcome = await check(PiiRule(action="block"), text=text)
    assert not outcome.allowed
    reason = outcome.decisions[0].reason
    assert reason == "contains personal data: email x1, phone x1, card x1"
    for secret in ("jane", "example.com", "4111", "555"):
        assert secret not in reason


async def test_redactions_chain_into_later_rules() -> None:
    outcome = await check(
        PiiRule(kinds=("email",)),
        RegexRule(name="leftover-at", pattern="@", action="block"),
        text="write to bob@example.com",
    )
    assert outcome.allowed
    assert outcome.text == "write to [email]"
    chained = await check(
        BlockedTermsRule(terms=("bob",), action="redact"),
        RegexRule(name="redaction-marker", pattern=r"\[redacted\]", action="block"),
        text="hi bob",
    )
    assert not chained.allowed
    assert [decision.action for decision in chained.decisions] == ["redact", "block"]


async def test_the_first_block_stops_evaluation() -> None:
    moderation = FakeModeration(flagged=False, scores={})
    checker = RuleEngineChecker(lambda _name: moderation)
    outcome = await check(
        PiiRule(kinds=("card",)),
        MaxLengthRule(max_chars=10),
        ModerationRule(),
        text=f"card {VALID_CARD} and more",
        checker=checker,
    )
    assert not outcome.allowed
    assert [decision.rule for decision in outcome.decisions] == ["pii", "max_length"]
    assert outcome.text == "card [card] and more"
    assert moderation.texts == []


async def test_moderation_blocks_on_threshold_and_sees_redacted_text() -> None:
    moderation = FakeModeration(flagged=False, scores={"violence": 0.7, "harassment": 0.1})
    looked_up: list[str | None] = []

    def lookup(name: str | None) -> ModerationCheck:
        looked_up.append(name)
        return moderation

    outcome = await check(
        PiiRule(kinds=("email",)),
        ModerationRule(thresholds={"violence": 0.5}, provider="openai"),
        text="a@b.io is mean",
        checker=RuleEngineChecker(lookup),
    )
    assert not outcome.allowed
    assert outcome.decisions[-1].reason == "moderation: violence scored 0.70 (threshold 0.50)"
    assert moderation.texts == ["[email] is mean"]
    assert looked_up == ["openai"]


async def test_moderation_flag_blocks_unless_thresholds_cover_the_category() -> None:
    flagged = FakeModeration(flagged=True, scores={"violence": 0.4, "hate": 0.1})
    uncovered = await check(ModerationRule(), text="x", checker=RuleEngineChecker(lambda _n: flagged))
    assert not uncovered.allowed
    covered = await check(
        ModerationRule(thresholds={"violence": 0.9}), text="x", checker=RuleEngineChecker(lambda _n: flagged)
    )
    assert covered.allowed


async def test_moderation_without_a_provider_blocks_clearly() -> None:
    outcome = await check(ModerationRule(), text="hello")
    assert not outcome.allowed
    assert outcome.decisions[0].reason == "moderation is required but no provider offers it"


async def test_moderation_lookup_failure_blocks() -> None:
    def lookup(_name: str | None) -> ModerationCheck:
        raise InvalidRequest("no provider offers moderation")

    outcome = await check(ModerationRule(), text="hello", checker=RuleEngineChecker(lookup))
    assert not outcome.allowed
    assert "InvalidRequest" in outcome.decisions[0].reason


def test_validate_policy_reports_each_problem() -> None:
    policy = GuardrailPolicy(
        name="bad",
        rules=(
            RegexRule(name="broken", pattern="(unclosed"),
            BlockedTermsRule(terms=()),
            BlockedTermsRule(terms=("ok", "  ")),
            ModerationRule(thresholds={"violence": 1.5, "hate": -0.1, "self-harm": 0.5}),
            PiiRule(kinds=()),
        ),
    )
    problems = validate_policy(policy)
    assert len(problems) == 6
    assert problems[0].startswith("policy 'bad' rules[0] (regex): invalid regular expression")
    assert "rules[1] (blocked_terms)" in problems[1]
    assert "rules[2] (blocked_terms)" in problems[2]
    assert "'hate'" in problems[3]
    assert "'violence'" in problems[4]
    assert "rules[4] (pii)" in problems[5]


def test_validate_policy_accepts_a_good_policy() -> None:
    policy = GuardrailPolicy(name="good", rules=(MaxLengthRule(max_chars=10), PiiRule(), ModerationRule()))
    assert validate_policy(policy) == []


async def test_a_catastrophic_regex_is_cut_off_and_blocks_instead_of_stalling() -> None:
    import time

    from adapters.guardrails.engine import RuleEngineChecker
    from contracts.guardrails import GuardrailPolicy, RegexRule

    policy = GuardrailPolicy(name="evil", rules=(RegexRule(name="backtrack", pattern=r"^(a|aa)+$"),))
    start = time.perf_counter()
    outcome = await RuleEngineChecker().check(policy, "input", "a" * 40 + "b")
    assert time.perf_counter() - start < 2
    assert not outcome.allowed
    assert "took too long" in outcome.decisions[-1].reason
