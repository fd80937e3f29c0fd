"""The tools the service ships: ``current_time``, ``calculator`` and ``search_conversations``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.tools.calculator import calculator_tool
from adapters.tools.clock import Clock, utc_now
from adapters.tools.conversation_search import ConversationSearch
from adapters.tools.registry import ToolRegistry
from contracts.ports import SessionStore


def default_tools(sessions: SessionStore, now: Callable[[], datetime] = utc_now) -> ToolRegistry:
    """A registry of the three shipped tools; ``now`` is the clock's time source (inject one in tests)."""
    return ToolRegistry(
        [Clock(now).definition(), calculator_tool(), ConversationSearch(sessions).definition()]
    )
