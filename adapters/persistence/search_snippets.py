"""What every session store shares about conversation items: searchable text, titles and snippets.

The NUL rule (docs/security.md): message texts, tool arguments and outputs are stored faithfully on every
store, NUL characters included (they travel JSON-escaped); what stores *derive* for indexing and titles
drops NUL (``indexable``), because PostgreSQL text columns cannot hold it. Identifiers cannot contain NUL
at all: the API refuses them with a 400 naming the field."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.conversations import AssistantMessage, ConversationItem, UserMessage

SNIPPET_CONTEXT = 40
TITLE_CHARS = 80


def indexable(text: str) -> str:
    """``text`` as derived columns keep it: without NUL characters."""
    return text.replace("\x00", "")


def searchable_text(item: ConversationItem) -> str | None:
    """The text search matches: message texts only (tool calls and results are not searched)."""
    if isinstance(item, UserMessage | AssistantMessage):
        return item.text
    return None


def title_for(items: Sequence[ConversationItem]) -> str | None:
    """A new conversation's title: the start of its first user message."""
    for item in items:
        if isinstance(item, UserMessage):
            text = indexable(item.text).strip()
            first_line = text.splitlines()[0] if text else ""
            return first_line[:TITLE_CHARS] or None
    return None


def matches(text: str, query: str) -> bool:
    """Case-insensitive substring match."""
    return indexable(query).lower() in indexable(text).lower()


def snippet(text: str, query: str, *, context: int = SNIPPET_CONTEXT) -> str:
    """The match with up to ``context`` characters either side, ellipses where the text was cut."""
    lowered = text.lower()
    position = lowered.find(query.lower()) if len(lowered) == len(text) else -1
    if position < 0:
        return text[: 2 * context] + ("…" if len(text) > 2 * context else "")
    start = max(0, position - context)
    end = min(len(text), position + len(query) + context)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
