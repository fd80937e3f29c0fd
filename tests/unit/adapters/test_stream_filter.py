"""The streaming output filter: what it releases, what it holds back, and that it agrees with the
whole-text check however the answer is cut into deltas."""

from __future__ import annotations

import random
import time

import pytest

from adapters.guardrails.engine import RuleEngineChecker
from adapters.guardrails.stream_filter import StreamFilter, stream_filter
from contracts.errors import GuardrailBlocked
from contracts.guardrails import (
    BlockedTermsRule,
    GuardrailPolicy,
    GuardrailRule,
    MaxLengthRule,
    ModerationRule,
    PiiRule,
    RegexRule,
)

CARD = "4111 1111 1111 1111"


def make(*rules: GuardrailRule, stream_output: str = "checked") -> StreamFilter:
    policy = GuardrailPolicy(name="p", rules=rules, stream_output=stream_output)  # type: ignore[arg-type]
    found = stream_filter(policy)
    assert found is not None
    return found


def run(filter_: StreamFilter, deltas: list[str]) -> list[str]:
    """Every piece released, the final flush last."""
    return [filter_.feed(delta) for delta in deltas] + [filter_.finish()]


def split(text: str, rng: random.Random) -> list[str]:
    cuts = (
        sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(0, 12))))
        if len(text) > 1
        else []
    )
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def test_a_term_split_across_deltas_is_redacted_and_only_its_prefix_is_held() -> None:
    f = make(BlockedTermsRule(terms=("top secret",), action="redact", applies_to="output"))
    assert f.feed("this is to") == "this is "  # "to" could start the term
    assert f.feed("p sec") == ""
    assert f.feed("ret, ok") == "[redacted], ok"
    assert f.feed(" and tox") == " and tox"  # "tox" can no longer become a match
    assert f.finish() == ""


def test_a_match_touching_the_end_is_held_until_it_cannot_grow() -> None:
    f = make(RegexRule(name="digits", pattern=r"\d+", action="redact", applies_to="output"))
    assert f.feed("code 12") == "code "
    assert f.feed("34") == ""
    assert f.feed(" done") == "[redacted] done"
    assert f.feed(" 9") == " "
    assert f.finish() == "[redacted]"  # at the end a match touching the end is final


def test_a_card_number_cut_digit_by_digit_never_leaks_a_digit() -> None:
    f = make(PiiRule(kinds=("card",), action="redact", applies_to="output"))
    text = f"pay with {CARD} today"
    released = run(f, list(text))
    assert not any(ch.isdigit() for piece in released for ch in piece)
    assert "".join(released) == "pay with [card] today"


def test_blocking_rules_raise_before_any_of_the_match_is_released() -> None:
    f = make(BlockedTermsRule(terms=("forbidden",), action="block", applies_to="both"))
    released = [f.feed("this is "), f.feed("forb")]
    with pytest.raises(GuardrailBlocked) as blocked:
        f.feed("idden!")
    assert "".join(released) == "this is "
    assert blocked.value.decision.stage == "output" and blocked.value.decision.rule == "blocked_terms"
    assert "forbidden" not in blocked.value.detail


def test_pii_block_decides_on_an_address_spanning_deltas() -> None:
    f = make(PiiRule(kinds=("email",), action="block", applies_to="output"))
    assert f.feed("write to ") == "write to "
    assert f.feed("ann@exa") == ""
    with pytest.raises(GuardrailBlocked):
        f.feed("mple.org now")


def test_rules_that_need_the_whole_text_hold_everything_until_the_end() -> None:
    for rule in (MaxLengthRule(max_chars=100, applies_to="output"), ModerationRule(applies_to="output")):
        f = make(rule)
        assert f.feed("hello ") == "" and f.feed("world") == ""
        assert f.finish() == "hello world"


def test_input_only_policies_and_raw_streams_have_no_filter() -> None:
    input_only = GuardrailPolicy(name="p", rules=(BlockedTermsRule(terms=("x",), applies_to="input"),))
    raw = GuardrailPolicy(name="p", rules=(PiiRule(),), stream_output="raw")
    assert stream_filter(input_only) is None
    assert stream_filter(raw) is None
    assert stream_filter(GuardrailPolicy(name="p")) is None


CORPUS = [
    f"Card {CARD}, mail ann.lee@example.org or call +33 1 23 45 67 89.",
    "The SECRET plan: top secret files, secrets and a secret. Plan B!",
    "numbers 4111-1111-1111-1111 and 4111 1111 1111 1112 and 2024-05-01 and (555) 123-4567 end",
    "x@y.co,a@b.io;c@d.fr plain words secretariat top secret",
    "ababab abba 12345 99 1 22 333 redact me please",
]
POLICIES: list[tuple[GuardrailRule, ...]] = [
    (PiiRule(action="redact", applies_to="output"),),
    (BlockedTermsRule(terms=("secret", "top secret", "plan b"), action="redact"),),
    (RegexRule(name="r", pattern=r"\d{2,}", action="redact"), PiiRule(kinds=("email",), action="redact")),
    (
        BlockedTermsRule(terms=("redact me",), action="redact"),
        RegexRule(name="ab", pattern=r"(?:ab)+", action="redact"),
        PiiRule(kinds=("card", "phone"), action="redact"),
    ),
]


@pytest.mark.parametrize("rules", POLICIES)
async def test_any_cut_into_deltas_releases_exactly_the_whole_text_checks_result(
    rules: tuple[GuardrailRule, ...],
) -> None:
    rng = random.Random(12)
    policy = GuardrailPolicy(name="p", rules=rules)
    checker = RuleEngineChecker()
    for text in CORPUS:
        expected = (await checker.check(policy, "output", text)).text
        for _ in range(40):
            released = run(make(*rules), split(text, rng))
            assert "".join(released) == expected


def test_a_pattern_that_keeps_a_long_suffix_pending_stays_cheap() -> None:
    f = make(RegexRule(name="az", pattern=r"a[^z]*z", action="redact", applies_to="output"))
    start = time.perf_counter()
    released = [f.feed(ch) for ch in "a" + "b" * 20_000]
    assert time.perf_counter() - start < 2.0  # rescans are amortised, not one per delta
    assert "".join(released) == ""
    assert f.finish() == "a" + "b" * 20_000
