"""The scripted provider's deterministic answers: what to say, which tool to call, whom to hand off to.

Pure functions of the text (no I/O), shared by the runtime and the realtime channel. The exact formats
are documented in ``adapters/providers/scripted/runtime.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.tools import ToolResult

TOKEN = re.compile(r"\S+\s*")
START_OF_CONVERSATION = "This is the start of our conversation."

_RECALL = re.compile(r"what did i say", re.IGNORECASE)
_HANDOFF = re.compile(r"\btransfer to ([a-z][a-z0-9_-]*)", re.IGNORECASE)
_TIME = re.compile(r"\btime\b", re.IGNORECASE)
_ZONE = re.compile(r"\b[A-Z][a-z]+(?:/[A-Za-z_]+)+")
_SEARCH = (
    re.compile(r"\bsearch (?:my |our |the )?conversations? for (?P<query>.+)", re.IGNORECASE),
    re.compile(r"\bfind (?P<query>.+?) in (?:my |our |the )?conversations?\b", re.IGNORECASE),
)
_ARITHMETIC = re.compile(r"-?[\d(][\d\s.+\-*/%()]*[\d)]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OPERATOR = re.compile(r"[\d)]\s*(?:\*\*|//|[-+*/%])\s*[-+(]*[\d(.]")
_QUERY_TRIM = "\"'\u201c\u201d\u2018\u2019?.!,; "


def tokens(answer: str) -> list[str]:
    """The streamed pieces of an answer: each run of non-space characters with the spaces after it."""
    return TOKEN.findall(answer)


def word_count(text: str) -> int:
    return len(text.split())


def direct_answer(text: str, last_user_text: str | None) -> str:
    """The answer without tools: a recall of the previous user message, or an echo of the input."""
    if _RECALL.search(text):
        return START_OF_CONVERSATION if last_user_text is None else f'Earlier you said: "{last_user_text}"'
    return f"You said: {text}"


def is_recall(text: str) -> bool:
    return _RECALL.search(text) is not None


def handoff_target(text: str, handoffs: Sequence[str]) -> str | None:
    """The agent key after "transfer to", when it is one of ``handoffs``."""
    match = _HANDOFF.search(text)
    if match is None:
        return None
    key = match.group(1).lower()
    return key if key in handoffs else None


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """A tool call the script decided on, and how the answer is worded from its result."""

    name: str
    arguments: dict[str, Any]
    render: Callable[[ToolResult], str]


def plan_tool_call(text: str, tools: Sequence[str]) -> PlannedCall | None:
    """The first tool the text asks for among ``tools``: conversation search, then time, then arithmetic."""
    for planner in (_plan_search, _plan_time, _plan_calculator):
        planned = planner(text)
        if planned is not None and planned.name in tools:
            return planned
    return None


def _plan_search(text: str) -> PlannedCall | None:
    for pattern in _SEARCH:
        match = pattern.search(text)
        if match is None:
            continue
        query = match.group("query").strip(_QUERY_TRIM)
        if query:
            return PlannedCall("search_conversations", {"query": query}, _render_search)
    return None


def _render_search(result: ToolResult) -> str:
    if result.is_error:
        return f"The conversation search failed: {result.output}."
    return f"I found: {result.output}"


def _plan_time(text: str) -> PlannedCall | None:
    if _TIME.search(text) is None:
        return None
    zone_match = _ZONE.search(text)
    zone = zone_match.group(0) if zone_match else "UTC"

    def render(result: ToolResult) -> str:
        if result.is_error:
            return f"I could not get the time in {zone}: {result.output}."
        return f"The time in {zone} is {result.output}."

    return PlannedCall("current_time", {"timezone": zone}, render)


def _plan_calculator(text: str) -> PlannedCall | None:
    for match in _ARITHMETIC.finditer(text):
        expression = match.group(0).strip()
        if _OPERATOR.search(expression) and not _DATE.fullmatch(expression):
            return PlannedCall("calculator", {"expression": expression}, _render_calculation)
    return None


def _render_calculation(result: ToolResult) -> str:
    if result.is_error:
        return f"The calculator could not work that out: {result.output}."
    return f"The calculator says {result.output}."
