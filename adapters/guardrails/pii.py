"""Detection of personal data in text: e-mail addresses, phone numbers and card numbers.

- ``email``: ``local@domain.tld``.
- ``card``: 13 to 19 digits, optionally grouped by single spaces or dashes, passing the Luhn check.
- ``phone``: 7 to 15 digits in international (``+33 1 23 45 67 89``) or national
  (``(555) 123-4567``, ``030 1234567``) form; it needs a leading ``+`` or at least one separator
  (space, dot, dash, parentheses), so bare numbers such as order ids are left alone. Never matches
  inside a card number or an ISO date (``2024-05-01``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.guardrails import PiiKind

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[ .-])"
    r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,5}"
    r"(?![ .-]?\d)(?!\w)"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PRECEDENCE: tuple[PiiKind, ...] = ("email", "card", "phone")


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


def find_pii(text: str, kinds: tuple[PiiKind, ...]) -> list[PiiMatch]:
    """Matches of ``kinds`` in ``text``, in text order, never overlapping."""
    found: list[PiiMatch] = []
    for kind in _PRECEDENCE:
        for match in _candidates(kind, text):
            if not any(match.start < other.end and other.start < match.end for other in found):
                found.append(match)
    return sorted((match for match in found if match.kind in kinds), key=lambda match: match.start)


def _candidates(kind: PiiKind, text: str) -> list[PiiMatch]:
    if kind == "email":
        return [PiiMatch("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    if kind == "card":
        return [PiiMatch("card", m.start(), m.end()) for m in _CARD.finditer(text) if _is_card(m.group(0))]
    return [PiiMatch("phone", m.start(), m.end()) for m in _PHONE.finditer(text) if _is_phone(m.group(0))]


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _is_phone(candidate: str) -> bool:
    digits = sum(char.isdigit() for char in candidate)
    separated = candidate.startswith("+") or any(char in " .-()" for char in candidate)
    return 7 <= digits <= 15 and separated and not _ISO_DATE.fullmatch(candidate)


def redact(text: str, matches: list[PiiMatch]) -> str:
    """``text`` with each match replaced by ``[<kind>]``."""
    for match in sorted(matches, key=lambda match: match.start, reverse=True):
        text = f"{text[: match.start]}[{match.kind}]{text[match.end :]}"
    return text
