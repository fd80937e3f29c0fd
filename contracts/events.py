"""Stream events: the tagged union sent over SSE (``event:`` is the tag, ``data:`` the JSON).

Protocol version: ``PROTOCOL_VERSION``; bump it on any change a client would notice. New fields get
defaults; a field is never retyped. A stream is: ``run.started``, any number of ``text.delta`` /
``tool.called`` / ``tool.output`` / ``agent.handoff`` / ``usage``, then exactly one terminal event
(``run.completed`` or ``run.failed``), last.

Runtimes (``AgentRuntime.stream``) yield the non-terminal events and finish with ``RunFinished``; the chat
service turns that into ``Completed`` after the turn is stored.

Version 2 (adds fields, removes none): ``run.started.route`` names the route the turn runs on and its
``provider``/``model`` are the first deployment planned; ``run.completed.provider``/``model`` are the
instance and upstream model that actually answered, and ``run.completed.attempts`` lists the model calls
that failed before (fallback, retries).
"""

from __future__ import annotations

from contracts.base import Struct
from contracts.errors import ErrorInfo
from contracts.models import Attempt
from contracts.tools import ToolCall, ToolResult
from contracts.usage import Usage

PROTOCOL_VERSION = "2"


class RunStarted(Struct, frozen=True, kw_only=True, tag="run.started"):
    conversation_id: str
    agent: str
    provider: str
    model: str
    offline: bool = False
    protocol: str = PROTOCOL_VERSION
    route: str | None = None


class TextDelta(Struct, frozen=True, kw_only=True, tag="text.delta"):
    delta: str


class ToolCalled(Struct, frozen=True, kw_only=True, tag="tool.called"):
    call: ToolCall


class ToolOutput(Struct, frozen=True, kw_only=True, tag="tool.output"):
    result: ToolResult


class AgentHandoff(Struct, frozen=True, kw_only=True, tag="agent.handoff"):
    from_agent: str
    to_agent: str


class UsageReported(Struct, frozen=True, kw_only=True, tag="usage"):
    usage: Usage


class RunFinished(Struct, frozen=True, kw_only=True, tag="run.finished"):
    """Internal: a runtime's last event (never sent to clients). ``agent`` is the agent that answered
    (after handoffs); ``output`` the final text (JSON text for structured output); ``provider``/``model``
    the instance and upstream model of the last model call; ``attempts`` every failed model call."""

    output: str
    usage: Usage
    model: str
    agent: str
    provider: str = ""
    attempts: tuple[Attempt, ...] = ()


class Completed(Struct, frozen=True, kw_only=True, tag="run.completed"):
    """Terminal: the turn is stored. ``message_id`` is the stored assistant message."""

    conversation_id: str
    message_id: str
    output: str
    usage: Usage
    agent: str
    provider: str
    model: str
    attempts: tuple[Attempt, ...] = ()


class Failed(Struct, frozen=True, kw_only=True, tag="run.failed"):
    """Terminal: the turn failed; ``error`` says why and whether to retry."""

    conversation_id: str | None
    error: ErrorInfo
    attempts: tuple[Attempt, ...] = ()


RuntimeEvent = TextDelta | ToolCalled | ToolOutput | AgentHandoff | UsageReported | RunFinished
StreamEvent = (
    RunStarted | TextDelta | ToolCalled | ToolOutput | AgentHandoff | UsageReported | Completed | Failed
)
TERMINAL_EVENTS = (Completed, Failed)
