"""``FakeLanguageModel``: a deterministic ``LanguageModel`` answering by the mock upstream's rules.

The request is reduced to the mock's ``Prompt`` and answered by ``ops.mock_upstream.logic.decide``, so
the fake asks for a tool when the user says ``use <tool>``, hands off on ``transfer to <agent>``,
answers JSON for a JSON-schema response format, reports a tool's output after it ran, and otherwise
answers ``Mock answer to: <text>``; usage follows the mock's word counts. Streams send the text in the
mock's pieces and tool calls as a start plus two argument deltas.

It records every ``ModelRequest``, counts opened and closed streams, and can be told to fail: with
``error`` on the ``fail_on_call``-th call (every call when None), before anything is produced, or in a
stream after ``fail_after_deltas`` text deltas.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import msgspec

from contracts.errors import ProviderUnavailable
from contracts.models import (
    AssistantReply,
    Attempt,
    ModelDone,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ModelTextDelta,
    ModelToolCallDelta,
    ModelToolCallStart,
    OpaquePart,
    SystemPrompt,
    ToolReturn,
    UserPrompt,
)
from contracts.tools import ToolCall
from contracts.usage import Usage
from ops.mock_upstream.logic import Prompt, decide, pieces


def prompt_of(request: ModelRequest) -> Prompt:
    """The mock's view of a neutral request."""
    prompt = Prompt(model=request.model)
    names: dict[str, str] = {}
    for message in request.messages:
        prompt.last_is_user = False
        prompt.last_tool_name = None
        if isinstance(message, SystemPrompt):
            prompt.texts.append(message.text)
        elif isinstance(message, UserPrompt):
            prompt.texts.append(message.text)
            prompt.last_user_text = message.text
            prompt.last_is_user = True
        elif isinstance(message, AssistantReply):
            prompt.texts.append(message.text)
            for call in message.tool_calls:
                names[call.call_id] = call.name
                prompt.texts.append(msgspec.json.encode(call.arguments).decode())
        elif isinstance(message, ToolReturn):
            prompt.texts.append(message.output)
            prompt.last_tool_name = message.name or names.get(message.call_id, "unknown")
            prompt.last_tool_output = message.output
    prompt.tools = {spec.name: spec.parameters for spec in request.tools}
    if request.response_format is not None and request.response_format.type == "json_schema":
        prompt.output_schema = request.response_format.schema or {}
    return prompt


@dataclass
class FakeLanguageModel:
    """See the module docstring. ``provider``/``model`` are what responses say answered; ``attempts``
    are reported on every response (as a router reports the calls that failed before)."""

    name: str = "fake-route"
    provider: str = "fake-openai"
    model: str = "fake-model-1"
    attempts: tuple[Attempt, ...] = ()
    opaque: tuple[OpaquePart, ...] = ()
    error: ProviderUnavailable | None = None
    fail_on_call: int | None = None
    fail_after_deltas: int | None = None
    delta_delay_s: float = 0.0
    requests: list[ModelRequest] = field(default_factory=list)
    streams_opened: int = 0
    streams_closed: int = 0
    streams_closed_early: int = 0

    def _should_fail(self) -> bool:
        return self.error is not None and self.fail_on_call in (None, len(self.requests))

    def answer(self, request: ModelRequest) -> ModelResponse:
        """The response to ``request`` (without recording it)."""
        reply = decide(prompt_of(request))
        usage = Usage(
            input_tokens=reply.usage.input_tokens,
            output_tokens=reply.usage.output_tokens,
            total_tokens=reply.usage.total_tokens,
            cached_tokens=reply.usage.cached_tokens,
            reasoning_tokens=reply.usage.reasoning_tokens,
        )
        number = len(self.requests)
        calls: tuple[ToolCall, ...] = ()
        if reply.tool_name is not None:
            arguments = msgspec.json.decode(reply.text)
            calls = (ToolCall(call_id=f"call_{number}", name=reply.tool_name, arguments=arguments),)
        return ModelResponse(
            text="" if calls else reply.text,
            tool_calls=calls,
            finish_reason="tool_calls" if calls else "stop",
            usage=usage,
            provider=self.provider,
            model=self.model,
            response_id=f"resp_{number}",
            opaque=self.opaque,
            attempts=self.attempts,
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        if self._should_fail():
            assert self.error is not None
            raise self.error
        return self.answer(request)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        self.requests.append(request)
        self.streams_opened += 1
        failing = self._should_fail()
        done = False
        try:
            if failing and self.fail_after_deltas is None:
                assert self.error is not None
                raise self.error
            response = self.answer(request)
            for number, piece in enumerate(pieces(response.text)):
                if failing and number == self.fail_after_deltas:
                    assert self.error is not None
                    raise self.error
                if number and self.delta_delay_s:
                    await asyncio.sleep(self.delta_delay_s)
                yield ModelTextDelta(delta=piece)
            for index, call in enumerate(response.tool_calls):
                yield ModelToolCallStart(index=index, call_id=call.call_id, name=call.name)
                arguments = msgspec.json.encode(call.arguments).decode()
                half = len(arguments) // 2
                yield ModelToolCallDelta(index=index, arguments=arguments[:half])
                yield ModelToolCallDelta(index=index, arguments=arguments[half:])
            done = True
            yield ModelDone(response=response)
        finally:
            self.streams_closed += 1
            if not done:
                self.streams_closed_early += 1
