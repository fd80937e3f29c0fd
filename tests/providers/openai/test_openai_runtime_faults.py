"""Structured output, usage, retries, upstream faults and cancellation, in both API modes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec
import pytest

from adapters.providers.openai import KIND
from contracts.errors import ProviderUnavailable
from contracts.events import RunFinished, TextDelta, UsageReported
from contracts.ports import AgentTurn
from contracts.providers import BuildContext, ProviderInstance
from contracts.usage import Usage
from ops.mock_upstream import MockConfig, MockUpstream, running_mock
from tests.providers.openai.fakes import AGENTS, API_KEY, FakeCatalog, FakeToolRegistry, settings_for, turn


async def drain(instance: ProviderInstance, agent_turn: AgentTurn, deltas: list[str] | None = None) -> None:
    """Consume a stream to its end, keeping its text deltas in ``deltas``."""
    async for event in instance.runtime.stream(agent_turn):
        if isinstance(event, TextDelta) and deltas is not None:
            deltas.append(event.delta)


def expected_usage(input_words: int, output_words: int) -> Usage:
    """What the mock reports (ops/mock_upstream/logic.py)."""
    return Usage(
        input_tokens=input_words,
        output_tokens=output_words,
        total_tokens=input_words + output_words,
        cached_tokens=input_words // 4,
        reasoning_tokens=output_words // 2,
    )


async def test_structured_output_is_json_text_matching_the_schema(
    instance: ProviderInstance, mock: MockUpstream, api_mode: str
) -> None:
    result = await instance.runtime.run(turn("Paris has many bridges", agent="extractor"))
    assert msgspec.json.decode(result.output) == {"city": "mock city", "count": 4}
    body = mock.requests[0].body
    if api_mode == "responses":
        assert body["text"]["format"]["type"] == "json_schema"
        assert body["text"]["format"]["schema"]["required"] == ["city", "count"]
    else:
        assert body["response_format"]["type"] == "json_schema"


async def test_usage_equals_what_the_mock_reported(instance: ProviderInstance, api_mode: str) -> None:
    instructions = len(AGENTS["assistant"].instructions.split())
    expected = expected_usage(instructions + 2, 5)
    result = await instance.runtime.run(turn("hello world"))
    assert result.usage == expected
    events = [e async for e in instance.runtime.stream(turn("hello world"))]
    reported = [e.usage for e in events if isinstance(e, UsageReported)]
    assert reported == [expected]
    assert isinstance(events[-1], RunFinished)
    assert events[-1].usage == expected


async def test_usage_of_a_tool_turn_adds_both_model_calls(instance: ProviderInstance) -> None:
    result = await instance.runtime.run(turn('use lookup {"query": "x"}'))
    assert result.usage.input_tokens > 0
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens


async def test_429_once_is_retried_after_retry_after(instance: ProviderInstance, mock: MockUpstream) -> None:
    started = time.monotonic()
    result = await instance.runtime.run(turn("hello", model="fault-429-once"))
    assert result.output == "Mock answer to: hello"
    assert [r.status for r in mock.requests] == [429, 200]
    assert time.monotonic() - started >= 0.9  # the mock's Retry-After: 1


async def test_streamed_429_once_is_retried_before_any_output(
    instance: ProviderInstance, mock: MockUpstream
) -> None:
    events = [e async for e in instance.runtime.stream(turn("hello", model="fault-429-once"))]
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "Mock answer to: hello"
    assert len(mock.requests) == 2


@pytest.mark.parametrize("streamed", [False, True])
async def test_500_gives_retryable_provider_unavailable_after_the_budget(
    instance: ProviderInstance, mock: MockUpstream, streamed: bool
) -> None:
    attempt = (
        drain(instance, turn("hello", model="fault-500"))
        if streamed
        else instance.runtime.run(turn("hello", model="fault-500"))
    )
    with pytest.raises(ProviderUnavailable) as caught:
        await attempt
    error = caught.value
    assert (error.retryable, error.upstream_status, error.provider) == (True, 500, "openai")
    assert API_KEY not in str(error) and API_KEY not in error.detail
    assert len(mock.requests) == 3  # first attempt + max_retries=2


async def test_drop_mid_stream_raises_after_some_deltas_without_retry(
    instance: ProviderInstance, mock: MockUpstream
) -> None:
    deltas: list[str] = []
    with pytest.raises(ProviderUnavailable) as caught:
        await drain(instance, turn("tell me a long story please", model="fault-drop"), deltas)
    assert deltas == ["Mock ", "answer "]
    assert caught.value.retryable
    assert len(mock.requests) == 1


async def test_malformed_stream_chunk_is_a_provider_error(
    instance: ProviderInstance, mock: MockUpstream
) -> None:
    with pytest.raises(ProviderUnavailable):
        await drain(instance, turn("hello there you", model="fault-malformed"))
    assert len(mock.requests) == 1


async def test_timeout_is_retryable_and_names_no_status(mock: MockUpstream, api_mode: str) -> None:
    settings = settings_for(mock, api_mode, timeout_s=0.3, max_retries=0)
    built = KIND.build(BuildContext(name="local", tools=FakeToolRegistry(), catalog=FakeCatalog()), settings)
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await built.runtime.run(turn("hello", model="fault-timeout"))
    finally:
        assert built.aclose is not None
        await built.aclose()
    assert caught.value.retryable and caught.value.upstream_status is None
    assert "timed out" in caught.value.detail


@pytest.fixture
async def slow_instance(api_mode: str) -> AsyncIterator[tuple[ProviderInstance, MockUpstream]]:
    async with running_mock(config=MockConfig(token_delay_ms=100)) as slow:
        settings = settings_for(slow, api_mode)
        built = KIND.build(
            BuildContext(name="openai", tools=FakeToolRegistry(), catalog=FakeCatalog()), settings
        )
        yield built, slow
        assert built.aclose is not None
        await built.aclose()


async def wait_closed_early(mock: MockUpstream) -> None:
    for _ in range(100):
        if mock.requests and mock.requests[-1].closed_early:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"upstream request not closed early: {mock.requests}")


async def test_closing_the_stream_closes_the_upstream_request(
    slow_instance: tuple[ProviderInstance, MockUpstream],
) -> None:
    instance, slow = slow_instance
    stream = instance.runtime.stream(turn("one two three four five six seven eight nine ten"))
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()  # type: ignore[attr-defined]
    await wait_closed_early(slow)
    assert not slow.requests[-1].completed


async def test_cancelling_the_consumer_closes_the_upstream_request(
    slow_instance: tuple[ProviderInstance, MockUpstream],
) -> None:
    instance, slow = slow_instance
    got_first = asyncio.Event()

    async def consume() -> None:
        async for _ in instance.runtime.stream(turn("one two three four five six seven eight nine ten")):
            got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_closed_early(slow)
