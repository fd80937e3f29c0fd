"""ChatService with fakes: the orchestration order and what gets stored, without HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.catalog.toml_catalog import TomlAgentCatalog
from adapters.guardrails.engine import RuleEngineChecker
from adapters.persistence.memory_policies import MemoryPolicyStore
from adapters.persistence.memory_sessions import MemorySessionStore
from adapters.persistence.memory_usage import MemoryUsageRecorder
from backend.services.chat import ChatService
from backend.services.stream_starts import StreamStarts
from contracts.accounting import UsageRecord
from contracts.auth import Principal
from contracts.chat import ChatRequest
from contracts.conversations import AssistantMessage, UserMessage
from contracts.errors import GuardrailBlocked, InvalidRequest, ProviderUnavailable
from contracts.events import Completed, Failed, RunStarted
from contracts.guardrails import BlockedTermsRule, GuardrailPolicy, PiiRule
from tests.support.app import REPO
from tests.support.fakes import FakeModel, fake_directory

PRINCIPAL = Principal(key_id="k1", tenant_id="t1", scopes=frozenset({"chat"}))


async def recorded(usage: MemoryUsageRecorder) -> list[UsageRecord]:
    return await usage.since("t1", datetime(2000, 1, 1, tzinfo=UTC))


def make_service(
    runtime: FakeModel,
    *policies: GuardrailPolicy,
    checker: RuleEngineChecker | None = None,
    starts: StreamStarts | None = None,
) -> tuple[ChatService, MemorySessionStore, MemoryUsageRecorder]:
    sessions = MemorySessionStore()
    usage = MemoryUsageRecorder()
    catalog = TomlAgentCatalog.load(
        str(REPO / "config/agents.toml"), known_tools={"current_time", "calculator", "search_conversations"}
    )
    directory = fake_directory(runtime)
    service = ChatService(
        catalog=catalog,
        providers=directory,
        sessions=sessions,
        policies=MemoryPolicyStore(policies),
        checker=checker or RuleEngineChecker(),
        usage=usage,
        starts=starts,
    )
    return service, sessions, usage


async def test_a_turn_is_stored_whole_and_usage_recorded() -> None:
    service, sessions, usage = make_service(FakeModel())
    result = await service.chat(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))
    items = await sessions.load_items("t1", "c1")
    assert [type(i).__name__ for i in items] == ["UserMessage", "AssistantMessage"]
    assert items[1].id == result.message_id
    assert [(r.status, r.usage.total_tokens, r.key_id) for r in (await recorded(usage))] == [
        ("completed", 8, "k1")
    ]


async def test_input_block_never_reaches_the_provider() -> None:
    runtime = FakeModel()
    policy = GuardrailPolicy(name="default", rules=(BlockedTermsRule(terms=("secret",)),))
    service, sessions, _ = make_service(runtime, policy)
    with pytest.raises(GuardrailBlocked) as raised:
        await service.chat(PRINCIPAL, ChatRequest(message="tell me the secret", conversation_id="c1"))
    assert raised.value.decision.stage == "input"
    assert runtime.calls == []
    assert await sessions.get("t1", "c1") is None


async def test_input_redaction_is_what_the_provider_and_the_store_see() -> None:
    runtime = FakeModel()
    policy = GuardrailPolicy(name="default", rules=(PiiRule(kinds=("email",), action="redact"),))
    service, sessions, _ = make_service(runtime, policy)
    await service.chat(PRINCIPAL, ChatRequest(message="mail me at ann@example.com", conversation_id="c1"))
    assert "ann@example.com" not in runtime.user_texts(0)[-1]
    stored = await sessions.load_items("t1", "c1")
    assert "ann@example.com" not in stored[0].text  # type: ignore[union-attr]


async def test_output_block_stores_the_turn_as_blocked_without_the_answer_and_records_the_spend() -> None:
    runtime = FakeModel(tokens=["the", " fake", " answer"])
    policy = GuardrailPolicy(
        name="default", rules=(BlockedTermsRule(terms=("answer",), applies_to="output"),)
    )
    service, sessions, usage = make_service(runtime, policy)
    with pytest.raises(GuardrailBlocked) as raised:
        await service.chat(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))
    assert raised.value.decision.stage == "output"
    stored = await sessions.load_items("t1", "c1")
    assert isinstance(stored[-1], AssistantMessage)
    assert (stored[-1].status, stored[-1].text) == ("blocked", "")
    records = await recorded(usage)
    assert [(r.status, r.usage.total_tokens) for r in records] == [("blocked", 6)]


async def test_unknown_provider_names_the_field() -> None:
    service, _, _ = make_service(FakeModel())
    with pytest.raises(InvalidRequest) as raised:
        await service.chat(PRINCIPAL, ChatRequest(message="hi", provider="openai"))
    assert raised.value.field == "provider"


async def test_provider_failure_propagates_and_stores_a_failed_turn_as_a_stream_does() -> None:
    service, sessions, usage = make_service(FakeModel(fail_after=0))
    with pytest.raises(ProviderUnavailable):
        await service.chat(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))
    user, answer = await sessions.load_items("t1", "c1")
    assert isinstance(user, UserMessage) and user.text == "hi"
    assert isinstance(answer, AssistantMessage) and (answer.status, answer.text) == ("failed", "")
    assert [r.status for r in (await recorded(usage))] == ["failed"]


async def test_stream_stores_before_completing_and_marks_failures() -> None:
    service, sessions, _ = make_service(FakeModel(fail_after=1))
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))
    events = [e async for e in service.stream(prepared)]
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], Failed)
    stored = await sessions.load_items("t1", "c1")
    assert isinstance(stored[-1], AssistantMessage) and stored[-1].status == "failed"

    service, sessions, _ = make_service(FakeModel())
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi", conversation_id="c2"))
    stream = service.stream(prepared)
    async for event in stream:
        if isinstance(event, Completed):
            assert len(await sessions.load_items("t1", "c2")) == 2
    await service.drain()


async def test_closing_a_stream_midway_stores_a_cancelled_turn() -> None:
    runtime = FakeModel(tokens=["a ", "b ", "c ", "d "])
    service, sessions, _ = make_service(runtime)
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))
    stream = service.stream(prepared)
    seen = [await anext(stream) for _ in range(3)]  # run.started + 2 deltas
    assert len(seen) == 3
    await stream.aclose()
    await service.drain()
    assert runtime.cancelled.is_set()
    stored = await sessions.load_items("t1", "c1")
    assert isinstance(stored[-1], AssistantMessage)
    assert (stored[-1].status, stored[-1].text) == ("cancelled", "a b ")


async def test_an_adapter_bug_mid_stream_ends_with_an_internal_error_and_a_stored_failed_turn() -> None:
    service, sessions, _ = make_service(FakeModel(crash_after=2))
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))
    events = [e async for e in service.stream(prepared)]
    assert isinstance(events[-1], Failed)
    assert events[-1].error.code == "internal"
    stored = await sessions.load_items("t1", "c1")
    assert isinstance(stored[-1], AssistantMessage)
    assert (stored[-1].status, stored[-1].text) == ("failed", "Hello from")


class SlowOutputChecker(RuleEngineChecker):
    """Holds the output check until released, to cancel a stream while the answer is being checked."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()

    async def check(self, policy: GuardrailPolicy, stage: str, text: str):  # type: ignore[no-untyped-def, override]
        if stage == "output":
            self.waiting.set()
            await self.release.wait()
        return await super().check(policy, stage, text)  # type: ignore[arg-type]


async def test_a_stream_cancelled_during_the_output_check_stores_a_cancelled_turn() -> None:
    checker = SlowOutputChecker()
    service, sessions, _ = make_service(FakeModel(), checker=checker)
    prepared = await service.prepare(PRINCIPAL, ChatRequest(message="hi", conversation_id="c1"))

    async def consume() -> None:
        async for _ in service.stream(prepared):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(checker.waiting.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await service.drain()
    stored = await sessions.load_items("t1", "c1")
    assert [type(i).__name__ for i in stored] == ["UserMessage", "AssistantMessage"]
    assert stored[-1].status == "cancelled"  # type: ignore[union-attr]
    assert stored[-1].text == "Hello from the fake."  # type: ignore[union-attr]
