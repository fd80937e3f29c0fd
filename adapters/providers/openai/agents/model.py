"""``SwitchboardModel``: the Agents SDK's ``Model`` interface over a Switchboard ``LanguageModel``.

The SDK keeps running the agent (tools, handoffs, structured output, tracing); every model call it makes
becomes one neutral ``ModelRequest`` to the ``LanguageModel`` (a router over OpenAI, Anthropic or offline
deployments), and the neutral answer goes back in the SDK's Responses shapes. No retries here: the
router below retries and falls back. One instance serves one turn (it records into that turn's
``TurnState``); the conversion cache (``RequestParts``) is shared by every turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agents import (
    AgentOutputSchemaBase,
    Handoff,
    Model,
    ModelSettings,
    ModelTracing,
    Tool,
    TResponseInputItem,
)
from agents import ModelResponse as SdkModelResponse
from agents.tracing import Span, SpanError, generation_span
from openai.types.responses.response_prompt_param import ResponsePromptParam

from adapters.providers.openai.agents.input_items import to_messages
from adapters.providers.openai.agents.model_request import RequestParts, settings_fields, unsupported
from adapters.providers.openai.agents.output_items import sdk_model_response
from adapters.providers.openai.agents.responses_stream import ResponsesStream
from adapters.providers.openai.agents.turn_state import TurnState
from contracts.errors import ProviderUnavailable
from contracts.models import ModelRequest, ModelResponse
from contracts.ports import LanguageModel
from contracts.tools import ToolContext

try:  # private in 0.24: the streamed run then hands over queued events before raising the error
    from agents.exceptions import _mark_error_to_drain_stream_events as _deliver_queued_events_first
except ImportError:  # pragma: no cover - a later SDK without it only drops deltas queued at the failure

    def _deliver_queued_events_first(error: BaseException) -> None:
        return None


class SwitchboardModel(Model):
    """Drives ``model`` for the SDK. ``turn`` receives what each call reported (a fresh one when not
    given); ``parts`` caches converted tools and response formats across turns."""

    def __init__(
        self, model: LanguageModel, *, turn: TurnState | None = None, parts: RequestParts | None = None
    ) -> None:
        self.language_model = model
        self.turn = turn if turn is not None else TurnState(tool_context=ToolContext(tenant_id=""))
        self.parts = parts if parts is not None else RequestParts()
        self._messages = 0

    def request(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelRequest:
        """The neutral request for one SDK model call."""
        provider = self.language_model.name
        if prompt is not None:
            raise unsupported(provider, "a stored prompt")
        if previous_response_id or conversation_id:
            raise unsupported(provider, "server-side conversation state")

        def refuse(what: str) -> Exception:
            return unsupported(provider, what)

        return ModelRequest(
            messages=to_messages(system_instructions, input, self.turn.results, refuse),
            tools=self.parts.tools(tools, handoffs, provider),
            response_format=self.parts.response_format(output_schema),
            **settings_fields(model_settings, provider),
        )

    def _message_id(self) -> str:
        self._messages += 1
        return f"msg_{self._messages}"

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> SdkModelResponse:
        """One model call, answered whole."""
        request = self.request(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        )
        with generation_span(disabled=tracing.is_disabled()) as span:
            try:
                response = await self.language_model.complete(request)
            except ProviderUnavailable as exc:
                self._failed(exc, span)
                raise
            self._answered(response, span)
        return sdk_model_response(response, self._message_id())

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[Any]:
        """One model call, streamed. Closing this iterator closes the ``LanguageModel`` stream."""
        request = self.request(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        )
        writer = ResponsesStream(self._message_id())
        span = generation_span(disabled=tracing.is_disabled())
        span.start(mark_as_current=False)
        events = self.language_model.stream(request)
        try:
            yield writer.created()
            async for event in events:
                for translated in writer.feed(event):
                    yield translated
                if writer.done is not None:
                    self._answered(writer.done, span)
                    break
            else:
                raise ProviderUnavailable(
                    self.language_model.name,
                    "the model stream ended without a final response",
                    retryable=True,
                    failure="dropped",
                )
        except ProviderUnavailable as exc:
            self._failed(exc, span)
            _deliver_queued_events_first(exc)
            raise
        finally:
            await events.aclose()
            span.finish(reset_current=False)

    def _answered(self, response: ModelResponse, span: Span[Any]) -> None:
        self.turn.answered(response)
        span.span_data.model = response.model or None
        span.span_data.usage = {
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
        }

    def _failed(self, error: ProviderUnavailable, span: Span[Any]) -> None:
        self.turn.failed(error)
        span.set_error(SpanError(message="model call failed", data={"failure": error.failure}))
