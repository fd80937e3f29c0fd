"""Stored conversation items as model messages: the neutral history every codec reads.

Tool calls and their results are kept only in complete pairs (an upstream rejects a call without its
output, and an output without its call); consecutive calls become one assistant message with several
tool calls; empty assistant messages (a turn that failed before any text) are dropped. Call ids are kept
as they were stored, so a conversation moves between providers with its tool history intact.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.conversations import (
    AssistantMessage,
    ConversationItem,
    ToolCallItem,
    ToolResultItem,
    UserMessage,
)
from contracts.models import AssistantReply, ModelMessage, ToolReturn, UserPrompt
from contracts.tools import ToolCall


def to_messages(history: Sequence[ConversationItem]) -> list[ModelMessage]:
    """History (oldest first) as model messages, without the system prompt or the new input."""
    calls = {i.call_id for i in history if isinstance(i, ToolCallItem)}
    results = {i.call_id for i in history if isinstance(i, ToolResultItem)}
    paired = calls & results
    messages: list[ModelMessage] = []
    pending: list[ToolCall] = []

    def flush() -> None:
        if pending:
            messages.append(AssistantReply(tool_calls=tuple(pending)))
            pending.clear()

    for item in history:
        if isinstance(item, ToolCallItem):
            if item.call_id in paired:
                pending.append(ToolCall(call_id=item.call_id, name=item.name, arguments=item.arguments))
            continue
        flush()
        if isinstance(item, UserMessage):
            messages.append(UserPrompt.of(item.text))
        elif isinstance(item, AssistantMessage):
            if item.text:
                messages.append(AssistantReply(text=item.text))
        elif isinstance(item, ToolResultItem) and item.call_id in paired:
            messages.append(
                ToolReturn(call_id=item.call_id, name=item.name, output=item.output, is_error=item.is_error)
            )
    flush()
    return messages
