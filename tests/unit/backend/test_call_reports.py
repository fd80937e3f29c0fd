"""Every turn and model call ends in exactly one ``CallEnded`` report to the sink, whatever the way it
ends (JSON, stream, failure, cancellation, block), and the usage record agrees with it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.catalog.toml_catalog import TomlAgentCatalog
from adapters.guardrails.engine import RuleEngineChecker
from adapters.limits.memory_limiter import MemoryRateLimiter
from adapters.persistence.memory_policies import MemoryPolicyStore
from adapters.persistence.memory_sessions import MemorySessionStore
from adapters.persistence.memory_usage import MemoryUsageRecorder
from backend.services.background import BackgroundTasks
from backend.services.chat import ChatService
from backend.services.completions import CompletionService
from backend.services.limits import Limits
from backend.services.stream_starts import StreamStarts
from backend.settings import LimitSettings
from contracts.auth import Principal
from contracts.chat import ChatRequest
from contracts.errors import GuardrailBlocked, ProviderUnavailable, RateLimited
from contracts.events import Completed, Failed
from contracts.guardrails import BlockedTermsRule, GuardrailPolicy
from contracts.models import ModelRequest, TextPart, UserPrompt
from tests.support.app import REPO
from tests.support.fakes import FakeModel, fake_directory
from tests.support.recording_sink import RecordingSink

PRINCIPAL = Principal(key_id="k1", tenant_id="t1", scopes=frozenset({"chat"}))


def chat_service(
    model: FakeModel, *policies: GuardrailPolicy
) -> tuple[ChatService, RecordingSink, MemoryUsageRecorder]:
    sink, usage = RecordingSink(), MemoryUsageRecorder()
    catalog = TomlAgentCatalog.load(
        str(REPO / "config/agents.toml"), known_tools={"current_time", "calculator", "search_conversations"}
    )
    service = ChatService(
        catalog=catalog,
        providers=fake_directory(model),
        sessions=MemorySessionStore(),
        policies=MemoryPolicyStore(policies),
        checker=RuleEngineChecker(),
        usage=usage,
        sink=sink,
    )
    return service, sink, usage


def completion_service(
    model: FakeModel, starts: StreamStarts | None = None
) -> tuple[CompletionService, RecordingSink, BackgroundTasks]:
    sink, background = RecordingSink(), BackgroundTasks()
    service = CompletionService(
        providers=fake_directory(model),
        policies=MemoryPolicyStore(()),
        checker=RuleEngineChecker(),
        usage=MemoryUsageRecorder(),
        sessions=MemorySessionStore(),
        background=background,
        sink=sink,
        starts=starts,
    )
    return service, sink, background


REQUEST = ModelRequest(messages=(UserPrompt(content=(TextPart(text="hi"),)),))


async def test_a_json_turn_reports_once_with_its_usage_route_and_deployment() -> None:
    service, sink, usage = chat_service(FakeModel())
    await service.chat(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))
    [call] = sink.calls
    assert (call.outcome, call.surface, call.route, call.deployment, call.model) == (
        "completed",
        "chat",
        "default",
        "fake",
        "fake-1",
    )
    assert (call.tenant_id, call.key_id, call.conversation_id, call.streamed) == ("t1", "k1", "c1", False)
    assert call.usage.total_tokens == 8 and call.ttft_s is None and call.latency_s > 0
    [record] = await usage.since("t1", datetime(2000, 1, 1, tzinfo=UTC))
    assert (record.status, record.usage, record.provider) == ("completed", call.usage, "fake")


async def test_a_streamed_turn_reports_its_time_to_first_token_and_closes_its_stream() -> None:
    service, sink, _ = chat_service(FakeModel(first_token_delay=0.05))
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi"), streaming=True)
    events = [e async for e in service.stream(prepared)]
    assert isinstance(events[-1], Completed)
    [call] = sink.calls
    assert call.streamed and call.outcome == "completed"
    assert call.ttft_s is not None and 0.05 <= call.ttft_s <= call.latency_s
    assert sink.opened == sink.closed == ["chat"]


async def test_a_failed_stream_reports_failed_with_the_failure_class() -> None:
    service, sink, _ = chat_service(FakeModel(fail_after=1))
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi"), streaming=True)
    events = [e async for e in service.stream(prepared)]
    assert isinstance(events[-1], Failed)
    [call] = sink.calls
    assert (call.outcome, call.error, call.usage.total_tokens) == ("failed", "dropped", 0)


async def test_a_stream_closed_midway_reports_cancelled_once() -> None:
    service, sink, _ = chat_service(FakeModel(tokens=["a ", "b ", "c "], delay=0.01))
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi"), streaming=True)
    stream = service.stream(prepared)
    for _ in range(2):
        await anext(stream)
    await stream.aclose()
    await service.drain()
    [call] = sink.calls
    assert (call.outcome, call.error) == ("cancelled", "client_gone")
    assert sink.opened == sink.closed == ["chat"]


async def test_a_stream_blocked_by_a_streamed_output_rule_reports_blocked() -> None:
    policy = GuardrailPolicy(
        name="default", rules=(BlockedTermsRule(terms=("answer",), applies_to="output"),)
    )
    service, sink, _ = chat_service(FakeModel(tokens=["the", " answer", " is"]), policy)
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi"), streaming=True)
    events = [e async for e in service.stream(prepared)]
    assert isinstance(events[-1], Failed)
    assert [c.outcome for c in sink.calls] == ["blocked"]


async def test_a_json_turn_blocked_after_the_answer_reports_blocked_once_with_the_spend() -> None:
    policy = GuardrailPolicy(
        name="default", rules=(BlockedTermsRule(terms=("answer",), applies_to="output"),)
    )
    service, sink, _ = chat_service(FakeModel(tokens=["the", " answer"]), policy)
    with pytest.raises(GuardrailBlocked):
        await service.chat(PRINCIPAL, ChatRequest(message="hi"))
    [call] = sink.calls
    assert (call.outcome, call.usage.total_tokens) == ("blocked", 5)


async def test_a_protocol_call_reports_its_surface_json_and_streamed() -> None:
    service, sink, _ = completion_service(FakeModel())
    call = await service.prepare(PRINCIPAL, REQUEST, None, surface="openai.chat")
    await service.complete(call)
    call = await service.prepare(PRINCIPAL, REQUEST, None, surface="anthropic.messages", streaming=True)
    _ = [e async for e in service.stream(call)]
    json_call, streamed = sink.calls
    assert (json_call.surface, json_call.outcome, json_call.streamed) == ("openai.chat", "completed", False)
    assert (streamed.surface, streamed.streamed, streamed.usage.total_tokens) == (
        "anthropic.messages",
        True,
        8,
    )
    assert streamed.ttft_s is not None and json_call.ttft_s is None
    assert sink.opened == sink.closed == ["anthropic.messages"]


async def test_a_failed_protocol_call_reports_failed_and_a_closed_stream_reports_cancelled() -> None:
    service, sink, background = completion_service(FakeModel(fail_after=0))
    call = await service.prepare(PRINCIPAL, REQUEST, None, surface="openai.chat")
    with pytest.raises(ProviderUnavailable):
        await service.complete(call)
    service, sink2, background = completion_service(FakeModel(tokens=["a", "b", "c"], delay=0.01))
    call = await service.prepare(PRINCIPAL, REQUEST, None, surface="openai.chat", streaming=True)
    stream = service.stream(call)
    await anext(stream)
    await stream.aclose()
    await background.drain()
    assert [(c.outcome, c.error) for c in sink.calls] == [("failed", "overloaded")]
    assert [(c.outcome, c.error) for c in sink2.calls] == [("cancelled", "client_gone")]
    assert sink2.opened == sink2.closed == ["openai.chat"]


async def test_a_limit_refusal_is_reported_with_the_limit_it_hit() -> None:
    sink = RecordingSink()
    limits = Limits(MemoryRateLimiter(), LimitSettings(requests_per_minute=1), sink)
    await limits.admit_request(PRINCIPAL)
    with pytest.raises(RateLimited):
        await limits.admit_request(PRINCIPAL)
    assert sink.refusals == ["requests_per_minute"]


async def test_concurrent_turns_each_report_exactly_once() -> None:
    service, sink, _ = chat_service(FakeModel(delay=0.001))
    await asyncio.gather(*(service.chat(PRINCIPAL, ChatRequest(message=f"m{n}")) for n in range(20)))
    assert len(sink.calls) == 20
    assert len({c.conversation_id for c in sink.calls}) == 20
