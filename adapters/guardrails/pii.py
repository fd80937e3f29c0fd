"""Detection of personal data in text: e-mail addresses, phone numbers and card numbers.

- ``email``: ``local@domain.tld``.
- ``card``: 13 to 19 digits, optionally grouped by single spaces or dashes, passing the Luhn check.
- ``phone``: 7 to 15 digits in international (``+33 1 23 45 67 89``) or national
  (``(555) 123-4567``, ``030 1234567``) form; it needs a leading ``+`` or at least one separator
  (space, dot, dash, parentheses), so bare numbers such as order ids are left alone. Never matches
  inside a card number or an ISO date (``2024-05-01``).

Linear time: each pattern can start only at a boundary (lookbehinds) and its repetitions are bounded or
cannot backtrack across a boundary, overlaps between kinds are resolved by one merge of sorted lists, and
redaction joins slices once. 100,000 characters of tiny addresses take milliseconds, not seconds
(``tests/fuzz/test_hostile_inputs.py``). The patterns are compiled with the ``regex`` package so that the
streaming filter (``stream_filter.py``) can ask for partial matches at the end of a text.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from contracts.guardrails import PiiKind

PATTERNS: dict[PiiKind, regex.Pattern[str]] = {
    "email": regex.compile(
        r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
    ),
    "card": regex.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"),
    "phone": regex.compile(
        r"(?<![\w+])(?<!\d[ .-])"
        r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,5}"
        r"(?![ .-]?\d)(?!\w)"
    ),
}
STARTS: dict[PiiKind, regex.Pattern[str]] = {
    "email": regex.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]"),
    "card": regex.compile(r"(?<!\d)\d"),
    "phone": regex.compile(r"(?<![\w+])(?<!\d[ .-])[\d+(]"),
}
"""Where a match of each kind can begin (its leading lookbehinds and first character): the streaming
filter asks only these positions whether a match could still grow from them."""
_ISO_DATE = regex.compile(r"\d{4}-\d{2}-\d{2}")
PRECEDENCE: tuple[PiiKind, ...] = ("email", "card", "phone")
"""When candidates of two kinds overlap, the earlier kind wins."""


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One piece of personal data: its kind and where it is in the text."""

    kind: PiiKind
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def accepted(kind: PiiKind, candidate: str) -> bool:
    """Whether a pattern's candidate really is data of ``kind`` (Luhn, digit counts, not a date)."""
    if kind == "card":
        digits = "".join(char for char in candidate if char.isdigit())
        return 13 <= len(digits) <= 19 and luhn_valid(digits)
    if kind == "phone":
        digits = sum(char.isdigit() for char in candidate)
        separated = candidate.startswith("+") or any(char in " .-()" for char in candidate)
        return 7 <= digits <= 15 and separated and not _ISO_DATE.fullmatch(candidate)
    return True


def candidates(kind: PiiKind, text: str, start: int = 0, end: int | None = None) -> list[PiiMatch]:
    """Accepted matches of one kind within ``text[start:end]`` (the whole text is context), in order."""
    stop = len(text) if end is None else end
    return [
        PiiMatch(kind, m.start(), m.end())
        for m in PATTERNS[kind].finditer(text, start)
        if m.end() <= stop and accepted(kind, m.group(0))
    ]


def resolve(by_kind: dict[PiiKind, list[PiiMatch]], kinds: tuple[PiiKind, ...]) -> list[PiiMatch]:
    """Overlaps resolved by precedence (one merge per kind, linear), then only ``kinds``, in text order."""
    kept: list[PiiMatch] = []
    for kind in PRECEDENCE:
        merged: list[PiiMatch] = []
        i = 0
        for match in by_kind.get(kind, []):
            while i < len(kept) and kept[i].end <= match.start:
                merged.append(kept[i])
                i += 1
            if i < len(kept) and kept[i].start < match.end:
                continue  # overlaps a match of an earlier kind
            merged.append(match)
        merged.extend(kept[i:])
        kept = merged
    return [match for match in kept if match.kind in kinds]


def find_pii(text: str, kinds: tuple[PiiKind, ...]) -> list[PiiMatch]:
    """Matches of ``kinds`` in ``text``, in text order, never overlapping."""
    return resolve({kind: candidates(kind, text) for kind in PRECEDENCE}, kinds)


def redact(text: str, matches: list[PiiMatch], offset: int = 0) -> str:
    """``text`` with each match (sorted, non-overlapping) replaced by ``[<kind>]``; match positions are
    ``offset`` ahead of positions in ``text``."""
    pieces: list[str] = []
    position = 0
    for match in matches:
        pieces += [text[position : match.start - offset], f"[{match.kind}]"]
        position = match.end - offset
    pieces.append(text[position:])
    return "".join(pieces)
