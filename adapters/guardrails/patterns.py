"""Compiled guardrail patterns: what they may cost, and a cache bounded by that cost.

A tenant admin writes regex rules and blocked terms; one policy must not be able to cost every tenant.
The ``regex`` engine unrolls counted repetitions (``(?:a{100}){100}`` is 10,000 copies of ``a``, about
1.4 MB; ``(?:(?:a{1000}){1000}){1000}`` exhausted 24 GB), so a pattern is priced *before* it is compiled:

- its source is at most ``MAX_PATTERN_CHARS`` long and parses as Python ``re`` syntax;
- every counted repetition is at most ``MAX_REPEAT``;
- its *program size* (literals, classes and anchors, each repetition multiplying its body by its minimum
  count, which is what the engine unrolls) is at most ``MAX_PROGRAM_UNITS``;
- compiling it takes at most ``COMPILE_LIMIT_S`` (measured where it is validated: off the event loop).

Blocked terms compile to one trie-shaped alternation (``terms_pattern``): matching costs the length of the
longest term per position instead of the number of terms. Compiled patterns are cached by source with a
budget of ``CACHE_UNITS`` program units in total (least recently used first out), so memory held by the
cache is bounded whatever tenants write.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
import threading
import time
from collections import OrderedDict
from typing import Any

import regex

MAX_PATTERN_CHARS = 1_000
MAX_REPEAT = 1_000
MAX_PROGRAM_UNITS = 5_000
COMPILE_LIMIT_S = 0.5
TERMS_COMPILE_LIMIT_S = 1.5
"""Terms are plain text bounded by count and length; their trie compiles in ~0.1 s at the largest."""
CACHE_UNITS = 250_000
MAX_TERM_CHARS = 100
TERMS_FLAGS = regex.IGNORECASE


class PatternRejected(ValueError):
    """A pattern is invalid or would cost too much; the message says which bound and never echoes it."""


def program_units(pattern: str) -> int:
    """The program size of ``pattern`` (see the module docstring); raises ``PatternRejected``."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternRejected(f"pattern has {len(pattern)} characters; the limit is {MAX_PATTERN_CHARS}")
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise PatternRejected(f"invalid regular expression: {exc}") from None
    units = _units(parsed)
    if units > MAX_PROGRAM_UNITS:
        raise PatternRejected(
            f"pattern expands to {units} program units (repetitions multiply their body); "
            f"the limit is {MAX_PROGRAM_UNITS}"
        )
    return units


def _units(items: Any) -> int:
    total = 0
    for op, arg in items:
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = arg
            for bound in (low, high):
                if bound != sre.MAXREPEAT and bound > MAX_REPEAT:
                    raise PatternRejected(f"a repetition count of {bound} exceeds the limit of {MAX_REPEAT}")
            inner = _units(body)
            total += inner * max(low, 1) + (inner if high != low else 0)
        elif op is sre.BRANCH:
            total += sum(_units(branch) for branch in arg[1]) + 1
        elif op is sre.SUBPATTERN:
            total += _units(arg[3])
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            total += _units(arg[1]) + 1
        elif op is sre.ATOMIC_GROUP:
            total += _units(arg)
        elif op is sre.GROUPREF_EXISTS:
            total += _units(arg[1]) + (_units(arg[2]) if arg[2] is not None else 0) + 1
        elif op is sre.IN:
            total += max(1, len(arg) // 8)
        else:
            total += 1
        if total > MAX_PROGRAM_UNITS * MAX_REPEAT:  # stop early: already far beyond any limit
            return total
    return total


def terms_pattern(terms: tuple[str, ...]) -> str | None:
    """Whole-word, case-insensitive alternation of the non-blank terms as a trie; None if none.

    At every trie node longer continuations are tried first, so the longest term matching at a position
    wins (as with a longest-first alternation), at a cost bounded by the longest term's length.
    """
    words = {term.strip().lower() for term in terms if term.strip()}
    if not words:
        return None
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return r"(?<!\w)" + _trie_source(trie) + r"(?!\w)"


def _trie_source(node: dict[str, Any]) -> str:
    terminal = "" in node
    branches = [re.escape(char) + _trie_source(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if terminal:
        return f"(?:{body})?"
    return body


class PatternCache:
    """Compiled patterns by (source, flags), at most ``budget`` program units in total (LRU)."""

    def __init__(self, budget: int = CACHE_UNITS) -> None:
        self._budget = budget
        self._used = 0
        self._entries: OrderedDict[tuple[str, int], tuple[regex.Pattern[str], int]] = OrderedDict()
        self._lock = threading.Lock()  # validation compiles in worker threads

    def get(self, source: str, flags: int, units: int) -> regex.Pattern[str]:
        key = (source, flags)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit[0]
        compiled = regex.compile(source, flags)
        with self._lock:
            if key not in self._entries and units <= self._budget:
                self._entries[key] = (compiled, units)
                self._used += units
                while self._used > self._budget:
                    _, (_, freed) = self._entries.popitem(last=False)
                    self._used -= freed
        return compiled

    def has(self, source: str, flags: int) -> bool:
        with self._lock:
            return (source, flags) in self._entries

    @property
    def used_units(self) -> int:
        return self._used

    def __len__(self) -> int:
        return len(self._entries)


CACHE = PatternCache()


def rule_pattern(pattern: str) -> regex.Pattern[str]:
    """A regex rule's pattern, priced then compiled (cached). Raises ``PatternRejected``."""
    return CACHE.get(pattern, 0, program_units(pattern))


def is_compiled(rule_source: str | tuple[str, ...]) -> bool:
    """Whether a regex rule's pattern (a str) or a terms rule's terms (a tuple) are in the cache."""
    if isinstance(rule_source, str):
        return CACHE.has(rule_source, 0)
    source = terms_pattern(rule_source)
    return source is None or CACHE.has(source, TERMS_FLAGS)


def terms_regex(terms: tuple[str, ...]) -> regex.Pattern[str] | None:
    source = terms_pattern(terms)
    if source is None:
        return None
    return CACHE.get(source, TERMS_FLAGS, sum(len(term) for term in terms) + 1)


def timed_compile(
    pattern: str, flags: int = 0, *, priced: bool = True, limit_s: float = COMPILE_LIMIT_S
) -> float:
    """Compile ``pattern`` uncached (priced first unless it is generated, like a terms trie); the seconds
    compiling took. Raises ``PatternRejected`` when it is invalid, too costly or too slow to compile."""
    if priced:
        program_units(pattern)
    start = time.perf_counter()
    try:
        regex.compile(pattern, flags)
    except (regex.error, RecursionError, OverflowError, MemoryError) as exc:
        raise PatternRejected(f"invalid regular expression: {exc}") from None
    elapsed = time.perf_counter() - start
    if elapsed > limit_s:
        raise PatternRejected(f"compiling took {elapsed * 1000:.0f} ms; the limit is {limit_s * 1000:.0f} ms")
    return elapsed
