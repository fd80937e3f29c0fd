"""``ScriptedRuntime``: the offline, deterministic ``AgentRuntime`` (the service's embedded default).

Behaviour (other tests rely on it; change it only together with them):

1. Handoff: if the input contains ``transfer to <key>`` (case-insensitive) and ``<key>`` is in the agent's
   ``handoffs``, yield ``AgentHandoff(from_agent=<agent>, to_agent=<key>)``; the rest of the turn is
   answered as ``<key>`` (its catalog descriptor: its tools, no further handoff) and
   ``RunFinished.agent == <key>``.
2. Recall: if the input contains ``what did i say`` (case-insensitive), the answer is
   ``Earlier you said: "<text of the most recent UserMessage in turn.history>"``, or
   ``This is the start of our conversation.`` when the history holds no user message. No tool is called.
3. Tools, only those listed in the answering agent's ``tools``, first match wins, at most one call:
   - ``search my conversations for X`` / ``find X in my conversations`` -> ``search_conversations``
     ``{"query": "X"}``; answer ``I found: <output>``.
   - the word ``time`` -> ``current_time`` ``{"timezone": <first "Area/Location" in the input, else "UTC">}``;
     answer ``The time in <zone> is <output>.``
   - an arithmetic expression (digits, ``+ - * / // % **``, parentheses, at least one operator; an ISO
     date such as 2024-05-01 is not one) -> ``calculator`` ``{"expression": "<expression>"}``; answer
     ``The calculator says <output>.``
   The call is ``ToolCall(call_id="call_1", ...)``: yield ``ToolCalled``, invoke it through the
   ``ToolRegistryPort`` with ``turn.context``, yield ``ToolOutput``. An error result is reported honestly:
   ``The conversation search failed: <output>.``, ``I could not get the time in <zone>: <output>.``,
   ``The calculator could not work that out: <output>.``
4. Otherwise the answer is ``You said: <input>``.

The answer is streamed as ``TextDelta`` pieces split by the regex ``\\S+\\s*`` (each run of non-space
characters with the spaces after it), pausing ``token_delay_ms`` between pieces (not before the first).
Then ``UsageReported`` and ``RunFinished(output, usage, model, agent)``, where ``model`` is
``turn.model`` or the settings' model and usage is: ``input_tokens`` = whitespace-separated words in the
calling agent's instructions + the texts of every user and assistant message in the history + the input;
``output_tokens`` = number of streamed pieces; ``total_tokens`` their sum; cached and reasoning 0.

``run`` consumes ``stream`` (one code path). Closing the stream (``aclose``) or cancelling the task that
consumes it stops it at once, even during a pause or a tool call. ``active_streams`` counts streams
started and not yet finished (a closed or cancelled stream no longer counts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import msgspec

from adapters.providers.scripted.script import (
    direct_answer,
    handoff_target,
    is_recall,
    plan_tool_call,
    tokens,
    word_count,
)
from adapters.providers.scripted.settings import ScriptedSettings
from contracts.agents import AgentDescriptor, ProviderDescriptor, ProviderHealth
from contracts.conversations import AssistantMessage, UserMessage
from contracts.errors import NotFound
from contracts.events import (
    AgentHandoff,
    RunFinished,
    RuntimeEvent,
    TextDelta,
    ToolCalled,
    ToolOutput,
    UsageReported,
)
from contracts.ports import AgentCatalog, AgentTurn, RunResult, ToolRegistryPort
from contracts.tools import ToolCall
from contracts.usage import Usage


class ScriptedRuntime:
    """Deterministic offline ``AgentRuntime``; see the module docstring for the exact script."""

    def __init__(
        self,
        descriptor: ProviderDescriptor,
        settings: ScriptedSettings,
        tools: ToolRegistryPort,
        catalog: AgentCatalog | None = None,
    ) -> None:
        self._descriptor = descriptor
        self._settings = settings
        self._tools = tools
        self._catalog = catalog
        self.active_streams = 0

    @property
    def descriptor(self) -> ProviderDescriptor:
        return self._descriptor

    async def ping(self) -> ProviderHealth:
        return ProviderHealth(ok=True, detail="offline scripted provider")

    async def run(self, turn: AgentTurn) -> RunResult:
        steps: list[ToolCalled | ToolOutput | AgentHandoff] = []
        async for event in self.stream(turn):
            if isinstance(event, ToolCalled | ToolOutput | AgentHandoff):
                steps.append(event)
            elif isinstance(event, RunFinished):
                return RunResult(
                    output=event.output,
                    usage=event.usage,
                    model=event.model,
                    agent=event.agent,
                    steps=tuple(steps),
                )
        raise AssertionError("the scripted stream ended without RunFinished")  # pragma: no cover

    async def stream(self, turn: AgentTurn) -> AsyncGenerator[RuntimeEvent, None]:
        self.active_streams += 1
        try:
            agent = turn.agent
            target = handoff_target(turn.input, agent.handoffs)
            if target is not None:
                yield AgentHandoff(from_agent=agent.key, to_agent=target)
                agent = self._handoff_agent(agent, target)
            answer = direct_answer(turn.input, _last_user_text(turn))
            planned = None if is_recall(turn.input) else plan_tool_call(turn.input, agent.tools)
            if planned is not None:
                call = ToolCall(call_id="call_1", name=planned.name, arguments=planned.arguments)
                yield ToolCalled(call=call)
                result = await self._tools.invoke(call, turn.context)
                yield ToolOutput(result=result)
                answer = planned.render(result)
            pieces = tokens(answer)
            delay = self._settings.token_delay_ms / 1000
            for index, piece in enumerate(pieces):
                if index and delay > 0:
                    await asyncio.sleep(delay)
                yield TextDelta(delta=piece)
            usage = _usage(turn, len(pieces))
            yield UsageReported(usage=usage)
            model = turn.model or self._settings.model
            yield RunFinished(output=answer, usage=usage, model=model, agent=agent.key)
        finally:
            self.active_streams -= 1

    def _handoff_agent(self, source: AgentDescriptor, key: str) -> AgentDescriptor:
        """The catalog's descriptor of ``key``; without one, ``source`` renamed, with no tools."""
        if self._catalog is not None:
            try:
                target = self._catalog.get(key)
            except NotFound:
                pass
            else:
                return msgspec.structs.replace(target, handoffs=())
        return msgspec.structs.replace(source, key=key, tools=(), handoffs=())


def _last_user_text(turn: AgentTurn) -> str | None:
    for item in reversed(turn.history):
        if isinstance(item, UserMessage):
            return item.text
    return None


def _usage(turn: AgentTurn, output_tokens: int) -> Usage:
    history_words = sum(
        word_count(item.text) for item in turn.history if isinstance(item, UserMessage | AssistantMessage)
    )
    input_tokens = word_count(turn.agent.instructions) + history_words + word_count(turn.input)
    return Usage(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )
