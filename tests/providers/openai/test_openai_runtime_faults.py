"""The ``agents_sdk`` engine when things go wrong: model errors pass through as raised, SDK failures
become fixed-phrase errors, unsupported asks are refused, and closing a stream closes the model's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

import pytest

from adapters.providers.openai.agents.model import SwitchboardModel
from adapters.providers.openai.agents.runtime import AgentsSdkRuntime
from contracts.errors import ProviderRejected, ProviderUnavailable
from contracts.events import RunFinished, RuntimeEvent, TextDelta
from contracts.models import Attempt, ModelEvent, ModelRequest, ModelResponse, ModelTextDelta
from contracts.ports import AgentTurn
from tests.providers.openai.fakes import FakeCatalog, FakeToolRegistry, turn
from tests.support.fake_models import FakeLanguageModel

EARLIER = Attempt(provider="openai-eu", model="gpt-x", failure="overloaded", detail="HTTP 529")
LATER = Attempt(provider="openai-us", model="gpt-x", failure="rate_limited", detail="HTTP 429", status=429)


def rate_limited() -> ProviderUnavailable:
    return ProviderUnavailable(
        "fake-route",
        "all deployments failed",
        retryable=True,
        failure="rate_limited",
        retry_after=2.0,
        attempts=(LATER,),
    )


def too_long() -> ProviderRejected:
    return ProviderRejected(
        "fake-route", "the context is too long", retryable=False, failure="context_too_long"
    )


async def drain(stream: AsyncGenerator[RuntimeEvent, None], deltas: list[str] | None = None) -> None:
    async for event in stream:
        if isinstance(event, TextDelta) and deltas is not None:
            deltas.append(event.delta)


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "stream"])
@pytest.mark.parametrize("make_error", [rate_limited, too_long], ids=["unavailable", "rejected"])
async def test_a_model_error_passes_through_as_raised(
    engine: AgentsSdkRuntime, streamed: bool, make_error: Callable[[], ProviderUnavailable]
) -> None:
    error = make_error()
    model = FakeLanguageModel(error=error)
    attempt = drain(engine.stream(turn("hello"), model)) if streamed else engine.run(turn("hello"), model)
    with pytest.raises(ProviderUnavailable) as caught:
        await attempt
    assert caught.value is error
    assert type(caught.value) is type(error)
    assert caught.value.failure == error.failure


async def test_a_stream_failing_after_output_raises_after_the_deltas_it_gave(
    engine: AgentsSdkRuntime,
) -> None:
    error = rate_limited()
    model = FakeLanguageModel(error=error, fail_after_deltas=2)
    deltas: list[str] = []
    with pytest.raises(ProviderUnavailable) as caught:
        await drain(engine.stream(turn("tell me a long story"), model), deltas)
    assert caught.value is error
    assert deltas == ["Mock ", "answer "]
    assert (model.streams_opened, model.streams_closed_early) == (1, 1)


async def test_a_later_model_call_failing_lists_every_failed_attempt_of_the_turn(
    engine: AgentsSdkRuntime,
) -> None:
    error = rate_limited()
    model = FakeLanguageModel(attempts=(EARLIER,), error=error, fail_on_call=2)
    with pytest.raises(ProviderUnavailable) as caught:
        await engine.run(turn('use lookup {"query": "x"}'), model)
    assert caught.value is error
    assert caught.value.attempts == (EARLIER, LATER)


async def test_exceeding_the_step_limit_is_a_non_retryable_provider_error() -> None:
    engine = AgentsSdkRuntime(FakeCatalog(), FakeToolRegistry(), max_turns=1)
    with pytest.raises(ProviderUnavailable) as caught:
        await engine.run(turn('use lookup {"query": "secret"}'), FakeLanguageModel())
    assert not caught.value.retryable
    assert (
        caught.value.detail
        == "provider 'fake-route': the agent exceeded its step limit without a final answer"
    )
    assert "secret" not in str(caught.value)


class NotJson(FakeLanguageModel):
    """Answers plain text even when JSON is asked for."""

    def answer(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(text="secret words, not json", provider=self.provider, model=self.model)


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "stream"])
async def test_unusable_structured_output_is_a_malformed_provider_error(
    engine: AgentsSdkRuntime, streamed: bool
) -> None:
    extractor = turn("Paris", agent="extractor")
    attempt = drain(engine.stream(extractor, NotJson())) if streamed else engine.run(extractor, NotJson())
    with pytest.raises(ProviderUnavailable) as caught:
        await attempt
    assert (caught.value.failure, caught.value.retryable) == ("malformed", False)
    assert "secret" not in str(caught.value)


class NoDone(FakeLanguageModel):
    """A broken stream: text, then the end, without ``ModelDone``."""

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        self.requests.append(request)
        yield ModelTextDelta(delta="partial")


async def test_a_model_stream_without_a_final_response_is_a_dropped_stream(engine: AgentsSdkRuntime) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        await drain(engine.stream(turn("hi"), NoDone()))
    assert caught.value.failure == "dropped"


async def test_hosted_tools_are_refused_not_dropped() -> None:
    from agents import ModelSettings, ModelTracing, WebSearchTool

    model = SwitchboardModel(FakeLanguageModel())
    with pytest.raises(ProviderRejected) as caught:
        await model.get_response(
            "be brief",
            "hi",
            ModelSettings(),
            [WebSearchTool()],
            None,
            [],
            ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )
    assert (caught.value.failure, caught.value.retryable) == ("unsupported", False)
    assert "WebSearchTool" in caught.value.detail
    assert model.language_model.requests == []  # type: ignore[attr-defined]


async def wait_closed_early(model: FakeLanguageModel) -> None:
    for _ in range(200):
        if model.streams_closed_early:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the model stream was not closed")


def slow_turn() -> AgentTurn:
    return turn("one two three four five six seven eight nine ten")


async def test_closing_the_stream_closes_the_model_stream(engine: AgentsSdkRuntime) -> None:
    model = FakeLanguageModel(delta_delay_s=0.05)
    stream = engine.stream(slow_turn(), model)
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()
    await wait_closed_early(model)
    assert model.streams_closed == 1


async def test_cancelling_the_consumer_closes_the_model_stream(engine: AgentsSdkRuntime) -> None:
    model = FakeLanguageModel(delta_delay_s=0.05)
    got_first = asyncio.Event()
    seen: list[RuntimeEvent] = []

    async def consume() -> None:
        async for event in engine.stream(slow_turn(), model):
            seen.append(event)
            got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_closed_early(model)
    assert not [e for e in seen if isinstance(e, RunFinished)]
