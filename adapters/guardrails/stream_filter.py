"""Output guardrails on a stream: redaction and blocking applied to text deltas as they arrive.

``StreamFilter`` implements the ``OutputFilter`` port. It is a chain of stages, one per output rule of the
policy, in policy order (a redaction changes what later stages see, as in ``RuleEngineChecker``):

- **match stages** (blocked terms, regex, PII): text is released as soon as no match can start in it any
  more. The held-back suffix is the shortest one that could still become a match: a partial match at the
  end (``regex``'s ``partial=True``), or a complete match touching the end (it could still grow). A match
  that is final is redacted, or, for a ``block`` rule, raises ``GuardrailBlocked`` before any of it is
  released;
- **hold stages** (``max_length`` and ``moderation`` on output): they can only decide on the whole text, so
  they hold everything back until the end, when the chat service's whole-text check decides.

``feed(delta)`` returns the text that may go out now; ``finish()`` what remains at the end (where matches
touching the end are final). Concatenated, they equal the whole-text check's redacted text. Work is
amortised: while a long suffix is held (a pathological pattern), a stage rescans only when the held text
has grown by a quarter, so a stream costs O(n log n) scans at worst, each under the regex timeout.
"""

from __future__ import annotations

import typing
from collections.abc import Callable

import regex

from adapters.guardrails.patterns import PatternRejected, rule_pattern, terms_regex
from adapters.guardrails.pii import PATTERNS, PRECEDENCE, STARTS, candidates, redact, resolve
from contracts.errors import GuardrailBlocked
from contracts.guardrails import (
    Action,
    BlockedTermsRule,
    GuardrailDecision,
    GuardrailPolicy,
    GuardrailRule,
    PiiKind,
    PiiRule,
    RegexRule,
)

REDACTED = "[redacted]"
REGEX_TIMEOUT_S = 0.05
CONTEXT_CHARS = 1_024
"""Released text kept for lookbehinds of later matches."""
TERM_STARTS = regex.compile(r"(?<!\w).", regex.DOTALL)
"""Blocked terms are whole words: a match can only begin where no word character precedes."""
_PII_TRIGGER = regex.compile(r"[\d+(@]")
_LOCAL_PART_END = regex.compile(r"[A-Za-z0-9._%+-]+\Z")
_EAGER_BELOW = 64
SHADOW_WINDOW = 256
"""How far before a pending match an earlier, shadowed partial match is looked for (regex rules; blocked
terms are at most 100 characters, so for them this is exact)."""
PII_WINDOW = 64
"""The same for PII: phone and card candidates are at most ~40 characters long."""
"""Below this many held characters a stage rescans on every delta."""


class _Stage(typing.Protocol):
    def feed(self, text: str) -> str: ...

    def finish(self) -> str: ...


class _Held:
    """Text seen by a stage: ``text[:done]`` is released (kept only as context for lookbehinds)."""

    def __init__(self) -> None:
        self.text = ""
        self.done = 0
        self._scanned_at = 0

    def add(self, delta: str) -> bool:
        """Append; whether a rescan is worth it now (amortised for long held suffixes)."""
        self.text += delta
        held = len(self.text) - self.done
        if held < _EAGER_BELOW or len(self.text) - self._scanned_at >= (held // 4):
            self._scanned_at = len(self.text)
            return True
        return False

    def release(self, upto: int) -> None:
        self.done = upto
        if self.done > 2 * CONTEXT_CHARS:
            cut = self.done - CONTEXT_CHARS
            self.text, self.done, self._scanned_at = self.text[cut:], self.done - cut, self._scanned_at - cut


class _MatchStage:
    """Blocked terms or a regex rule over a stream."""

    def __init__(
        self,
        pattern: regex.Pattern[str],
        action: Action,
        decision: Callable[[str], GuardrailDecision],
        starts: regex.Pattern[str] | None = None,
    ):
        self._pattern = pattern
        self._starts = starts
        self._action = action
        self._decision = decision
        self._held = _Held()

    def feed(self, text: str) -> str:
        return self._scan(final=False) if self._held.add(text) else ""

    def finish(self) -> str:
        return self._scan(final=True)

    def _scan(self, *, final: bool) -> str:
        held = self._held
        text, end = held.text, len(held.text)
        pieces: list[str] = []
        position, hold = held.done, end
        try:
            if not final:
                hold = pending_start(self._pattern, text, held.done, SHADOW_WINDOW, self._starts)
            for match in self._pattern.finditer(text, held.done, timeout=REGEX_TIMEOUT_S):
                if match.start() >= hold:
                    break
                if match.end() > hold:  # crosses into undecided text: all of it waits
                    hold = match.start()
                    break
                if self._action == "block":
                    raise GuardrailBlocked(self._decision("contains a blocked match"))
                pieces += [text[position : match.start()], REDACTED]
                position = match.end()
        except TimeoutError:
            raise GuardrailBlocked(self._decision("took too long to evaluate; blocking to be safe")) from None
        pieces.append(text[position:hold])
        held.release(hold)
        return "".join(pieces)


class _PiiStage:
    """A PII rule over a stream: every kind is scanned (overlaps are resolved by precedence, as on whole
    texts), only the rule's kinds are acted on."""

    def __init__(self, rule: PiiRule, decision: Callable[[str], GuardrailDecision]) -> None:
        self._kinds = rule.kinds
        self._action = rule.action
        self._decision = decision
        self._held = _Held()

    def feed(self, text: str) -> str:
        return self._scan(final=False) if self._held.add(text) else ""

    def finish(self) -> str:
        return self._scan(final=True)

    def _scan(self, *, final: bool) -> str:
        held = self._held
        text, start = held.text, held.done
        if not final and _PII_TRIGGER.search(text, start) is None:
            # Prose without a digit, '+', '(' or '@' holds no personal data and can complete none: only a
            # trailing word that could still become an e-mail address waits (the common, cheap path).
            trailing = _LOCAL_PART_END.search(text, start) if "email" in self._kinds else None
            hold = trailing.start() if trailing is not None else len(text)
            held.release(hold)
            return text[start:hold]
        hold = len(text) if final else self._hold(text, start)
        matches = resolve({kind: candidates(kind, text, start, hold) for kind in PRECEDENCE}, self._kinds)
        if matches and self._action == "block":
            raise GuardrailBlocked(self._decision("contains personal data"))
        released = redact(text[start:hold], matches, offset=start)
        held.release(hold)
        return released

    def _hold(self, text: str, start: int) -> int:
        """Where undecided text begins: the earliest match of the rule's kinds that could still grow, or
        of a kind that outranks them when such a match could swallow one of theirs (an address around a
        card number); then moved back over any complete match crossing it, until stable."""
        own = [kind for kind in PRECEDENCE if kind in self._kinds]
        hold = min(pending_start(PATTERNS[kind], text, start, PII_WINDOW, STARTS[kind]) for kind in own)
        ranking = PRECEDENCE[: max(PRECEDENCE.index(kind) for kind in own)]
        for kind in (k for k in ranking if k not in self._kinds):
            pending = pending_start(PATTERNS[kind], text, start, PII_WINDOW, STARTS[kind])
            if pending < hold and _any_candidate(own, text, pending):
                hold = pending
        moved = True
        while moved:
            moved = False
            for kind in PRECEDENCE:
                crossing = _crossing(kind, text, start, hold)
                if crossing is not None:
                    hold, moved = crossing, True
        return hold


def _any_candidate(kinds: list[PiiKind], text: str, start: int) -> bool:
    """Whether some non-empty (complete or partial) match of ``kinds`` begins at or after ``start``."""
    for kind in kinds:
        for match in PATTERNS[kind].finditer(text, start, partial=True, timeout=REGEX_TIMEOUT_S):
            if match.end() > match.start():
                return True
    return False


def pending_start(
    pattern: regex.Pattern[str], text: str, start: int, window: int, starts: regex.Pattern[str] | None = None
) -> int:
    """The earliest position >= ``start`` from which a match could still reach (and so grow past) the end
    of ``text``; ``len(text)`` when there is none.

    A partial match at the end is found by searching; but ``regex`` prefers a complete match to an
    earlier partial one (``(?:ab)+`` on ``ababa`` reports ``abab``), so each position of the last
    ``window`` characters is also asked, anchored, whether the rest of the text can begin a match
    (``fullmatch(..., partial=True)``); ``starts``, when given, narrows that to where a match can begin.
    """
    end = len(text)
    hold = end
    for match in pattern.finditer(text, start, partial=True, timeout=REGEX_TIMEOUT_S):
        if match.partial or match.end() == end:
            hold = match.start()
            break
    low = max(start, end - window)
    if pattern.search(text, low, timeout=REGEX_TIMEOUT_S) is None:
        return hold  # no complete match to prefer, so the search above found the leftmost partial one
    positions = range(low, hold) if starts is None else (m.start() for m in starts.finditer(text, low, hold))
    for position in positions:
        if pattern.fullmatch(text, position, partial=True, timeout=REGEX_TIMEOUT_S) is not None:
            return position
    return hold


def _crossing(kind: PiiKind, text: str, start: int, hold: int) -> int | None:
    """The start of a complete ``kind`` match beginning before ``hold`` and ending after it, if any."""
    for match in PATTERNS[kind].finditer(text, start):
        if match.start() >= hold:
            return None
        if match.end() > hold:
            return match.start()
    return None


class _HoldAll:
    """A rule that can only judge the whole text: nothing goes out before the end."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def feed(self, text: str) -> str:
        self._parts.append(text)
        return ""

    def finish(self) -> str:
        return "".join(self._parts)


class StreamFilter:
    """The output rules of one policy over one stream. Implements ``OutputFilter``."""

    def __init__(self, stages: list[_Stage]) -> None:
        self._stages = stages

    def feed(self, delta: str) -> str:
        for stage in self._stages:
            delta = stage.feed(delta)
            if not delta:
                return ""
        return delta

    def finish(self) -> str:
        carried = ""
        for stage in self._stages:
            carried = stage.feed(carried) if carried else ""
            carried += stage.finish()
        return carried


def stream_filter(policy: GuardrailPolicy) -> StreamFilter | None:
    """The filter for ``policy``'s output rules; None when it has none or streams raw by choice."""
    if policy.stream_output == "raw":
        return None
    stages = [_stage(policy, rule) for rule in policy.rules if rule.applies_to in ("output", "both")]
    return StreamFilter(stages) if stages else None


def _stage(policy: GuardrailPolicy, rule: GuardrailRule) -> _Stage:
    tag = str(type(rule).__struct_config__.tag)

    def decision(reason: str) -> GuardrailDecision:
        return GuardrailDecision(policy=policy.name, rule=tag, stage="output", action="block", reason=reason)

    if isinstance(rule, BlockedTermsRule):
        pattern = terms_regex(rule.terms)
        if pattern is None:
            return _Passthrough()
        return _MatchStage(pattern, rule.action, decision, TERM_STARTS)
    if isinstance(rule, RegexRule):
        try:
            return _MatchStage(rule_pattern(rule.pattern), rule.action, decision)
        except (PatternRejected, regex.error):
            return _HoldAll()  # the whole-text check blocks an unusable pattern
    if isinstance(rule, PiiRule):
        return _PiiStage(rule, decision)
    return _HoldAll()


class _Passthrough:
    def feed(self, text: str) -> str:
        return text

    def finish(self) -> str:
        return ""
