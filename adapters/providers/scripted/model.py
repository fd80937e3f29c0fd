"""``ScriptedModel``: the offline, deterministic ``LanguageModel`` (the service's embedded default).

It reads the last message of the request and the tools offered, and answers like a small model would,
so the shared tool loop runs offline exactly as it does against a real provider. Rules (other tests rely
on them; change them only together):

1. The last message is the user's:
   - ``transfer to <key>`` (case-insensitive) and a ``transfer_to_<key>`` tool is offered: call it (``{}``).
   - ``what did i say``: answer ``Earlier you said: "<the user message before this one>"``, or
     ``This is the start of our conversation.`` when there is none. No tool.
   - a tool the text asks for among those offered (first match: ``search my conversations for X`` /
     ``find X in my conversations`` -> ``search_conversations {"query": "X"}``; the word ``time`` ->
     ``current_time {"timezone": <first Area/Location, else UTC>}``; an arithmetic expression ->
     ``calculator {"expression": ...}``): call it.
   - otherwise: ``You said: <text>``.
2. The last message is a handoff's tool return: the rules of 1 again for the last user text, with the
   tools now offered (no further handoff).
3. The last message is another tool's return: the answer worded from it (``The time in <zone> is
   <output>.``, ``The calculator says <output>.``, ``I found: <output>``; an error result is reported
   honestly: ``The calculator could not work that out: <output>.``...).

Every tool call gets a fresh id ``call_<hex>``. Text is streamed as pieces split by ``\\S+\\s*``,
pausing ``token_delay_ms`` between pieces (not before the first). Usage of one call: ``input_tokens`` =
whitespace-separated words in every message of the request (system, user, assistant, tool outputs);
``output_tokens`` = the streamed pieces (1 for a tool call). Closing the stream stops it at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Sequence

import msgspec

from adapters.providers.scripted.script import (
    PlannedCall,
    direct_answer,
    handoff_target,
    is_recall,
    plan_tool_call,
    tokens,
    word_count,
)
from adapters.providers.scripted.settings import ScriptedSettings
from contracts.models import (
    AssistantReply,
    ModelDone,
    ModelEvent,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    SystemPrompt,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall, ToolResult
from contracts.usage import Usage

HANDOFF_PREFIX = "transfer_to_"


class ScriptedModel:
    """Implements ``LanguageModel`` offline; see the module docstring for the script."""

    def __init__(self, name: str, settings: ScriptedSettings) -> None:
        self._name = name
        self._settings = settings
        self.active_streams = 0

    @property
    def name(self) -> str:
        return self._name

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return self._answer(request)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        self.active_streams += 1
        try:
            response = self._answer(request)
            for index, call in enumerate(response.tool_calls):
                yield ModelToolCallStart(index=index, call_id=call.call_id, name=call.name)
                arguments = msgspec.json.encode(call.arguments).decode()
                yield ModelToolCallDelta(index=index, arguments=arguments)
            delay = self._settings.token_delay_ms / 1000
            for index, piece in enumerate(tokens(response.text)):
                if index and delay > 0:
                    await asyncio.sleep(delay)
                yield ModelTextDelta(delta=piece)
            yield ModelDone(response=response)
        finally:
            self.active_streams -= 1

    # -- the script ---------------------------------------------------------------------------------------

    def _answer(self, request: ModelRequest) -> ModelResponse:
        offered = [tool.name for tool in request.tools]
        users = [m for m in request.messages if isinstance(m, UserPrompt)]
        text = users[-1].text if users else ""
        earlier = users[-2].text if len(users) > 1 else None
        last = request.messages[-1] if request.messages else None
        call: ToolCall | None = None
        answer = ""
        if isinstance(last, ToolReturn) and not last.name.startswith(HANDOFF_PREFIX):
            answer = _render(last, text, offered)
        else:
            may_hand_off = not isinstance(last, ToolReturn)
            call, answer = _first_move(text, earlier, offered, may_hand_off)
        model = request.model or self._settings.model
        input_tokens = sum(_words(m) for m in request.messages)
        if call is not None:
            usage = Usage(input_tokens=input_tokens, output_tokens=1, total_tokens=input_tokens + 1)
            return ModelResponse(
                tool_calls=(call,), finish_reason="tool_calls", usage=usage, provider=self._name, model=model
            )
        output_tokens = len(tokens(answer))
        usage = Usage(
            input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
        )
        return ModelResponse(text=answer, usage=usage, provider=self._name, model=model)


def _first_move(
    text: str, earlier: str | None, offered: Sequence[str], may_hand_off: bool
) -> tuple[ToolCall | None, str]:
    if may_hand_off:
        targets = [name[len(HANDOFF_PREFIX) :] for name in offered if name.startswith(HANDOFF_PREFIX)]
        target = handoff_target(text, [t.replace("_", "-") for t in targets] + targets)
        if target is not None:
            return _call(f"{HANDOFF_PREFIX}{target.replace('-', '_')}", {}), ""
    if not is_recall(text):
        planned = plan_tool_call(text, offered)
        if planned is not None:
            return _call(planned.name, planned.arguments), ""
    return None, direct_answer(text, earlier)


def _render(result: ToolReturn, text: str, offered: Sequence[str]) -> str:
    planned: PlannedCall | None = plan_tool_call(text, [*offered, result.name])
    outcome = ToolResult(
        call_id=result.call_id, name=result.name, output=result.output, is_error=result.is_error
    )
    if planned is not None and planned.name == result.name:
        return planned.render(outcome)
    return f"Tool {result.name} returned: {result.output}"


def _call(name: str, arguments: dict[str, object]) -> ToolCall:
    return ToolCall(call_id=f"call_{uuid.uuid4().hex[:24]}", name=name, arguments=arguments)


def _words(message: ModelMessage) -> int:
    if isinstance(message, SystemPrompt):
        return word_count(message.text)
    if isinstance(message, UserPrompt):
        return word_count(message.text)
    if isinstance(message, AssistantReply):
        return word_count(message.text)
    return word_count(message.output)
