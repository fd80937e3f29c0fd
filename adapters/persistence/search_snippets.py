"""What every session store shares about conversation items: searchable text, titles and snippets."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.conversations import AssistantMessage, ConversationItem, UserMessage

SNIPPET_CONTEXT = 40
TITLE_CHARS = 80


def searchable_text(item: ConversationItem) -> str | None:
    """The text search matches: message texts only (tool calls and results are not searched)."""
    if isinstance(item, UserMessage | AssistantMessage):
        return item.text
    return None


def title_for(items: Sequence[ConversationItem]) -> str | None:
    """A new conversation's title: the start of its first user message."""
    for item in items:
        if isinstance(item, UserMessage):
            first_line = item.text.strip().splitlines()[0] if item.text.strip() else ""
            return first_line[:TITLE_CHARS] or None
    return None


def matches(text: str, query: str) -> bool:
    """Case-insensitive substring match."""
    return query.lower() in text.lower()


def snippet(text: str, query: str, *, context: int = SNIPPET_CONTEXT) -> str:
    """The match with up to ``context`` characters either side, ellipses where the text was cut."""
    lowered = text.lower()
    position = lowered.find(query.lower()) if len(lowered) == len(text) else -1
    if position < 0:
        return text[: 2 * context] + ("…" if len(text) > 2 * context else "")
    start = max(0, position - context)
    end = min(len(text), position + len(query) + context)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
