"""The start gate: at most N streamed calls in their setup at once, in arrival order, never leaking a slot."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from backend.services.stream_starts import StreamStarts
from contracts.chat import ChatRequest
from contracts.events import RunStarted, TextDelta
from tests.support.fakes import FakeModel
from tests.unit.backend.test_call_reports import REQUEST, completion_service
from tests.unit.backend.test_chat_service import PRINCIPAL, make_service


async def test_waiters_get_slots_in_arrival_order_as_slots_come_back() -> None:
    gate = StreamStarts(2)
    first, second = await gate.enter(), await gate.enter()
    order: list[int] = []

    async def wait(n: int) -> None:
        slot = await gate.enter()
        order.append(n)
        slot.release()

    waiters = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0.01)
    assert (gate.starting, gate.waiting, order) == (2, 3, [])
    first.release()
    first.release()  # idempotent: one slot given back, not two
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]
    assert (gate.starting, gate.waiting) == (1, 0)
    second.release()
    assert gate.starting == 0


async def test_every_change_is_reported_to_the_observer() -> None:
    seen: list[tuple[int, int]] = []
    gate = StreamStarts(1, observe=lambda starting, waiting: seen.append((starting, waiting)))
    held = await gate.enter()
    waiter = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.01)
    held.release()
    (await waiter).release()
    assert seen == [(1, 0), (1, 1), (1, 0), (0, 0)]


async def test_a_slot_comes_back_by_itself_after_the_hold_time() -> None:
    gate = StreamStarts(1, hold_s=0.05)
    await gate.enter()  # never released by its holder (a stream that is never read)
    slot = await asyncio.wait_for(gate.enter(), timeout=2)
    slot.release()
    assert gate.starting == 0


async def test_a_waiter_cancelled_in_line_takes_no_slot() -> None:
    gate = StreamStarts(1)
    held = await gate.enter()
    waiter = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    held.release()
    assert (gate.starting, gate.waiting) == (0, 0)
    (await gate.enter()).release()


async def test_a_waiter_cancelled_just_as_it_is_served_passes_the_slot_on() -> None:
    gate = StreamStarts(1)
    held = await gate.enter()
    cancelled = asyncio.create_task(gate.enter())
    served = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.01)
    held.release()  # hands the slot to ``cancelled``...
    cancelled.cancel()  # ...which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    slot = await asyncio.wait_for(served, timeout=2)
    assert gate.starting == 1
    slot.release()
    assert gate.starting == 0


async def test_no_limit_never_waits() -> None:
    gate = StreamStarts(0)
    slots = [await gate.enter() for _ in range(1000)]
    assert gate.starting == 0
    for slot in slots:
        slot.release()


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        StreamStarts(-1)


async def test_a_streamed_turn_holds_its_slot_until_the_model_answers_then_the_next_one_starts() -> None:
    model = FakeModel(first_token_delay=0.2, tokens=["a", "b"])
    gate = StreamStarts(1, hold_s=5)
    service, _, _ = make_service(model, starts=gate)
    first = await service.prepare(PRINCIPAL, ChatRequest(message="one"), streaming=True)
    second_prepare = asyncio.create_task(
        service.prepare(PRINCIPAL, ChatRequest(message="two"), streaming=True)
    )
    events = service.stream(first)
    assert isinstance(await anext(events), RunStarted)
    await asyncio.sleep(0.05)
    assert not second_prepare.done()  # the first turn's model has not answered yet
    assert isinstance(await anext(events), TextDelta)
    second = await asyncio.wait_for(second_prepare, timeout=2)  # the first output gave the slot back
    assert gate.starting == 1
    async for _ in events:
        pass
    service.abandon(second)  # a prepared turn that will not be streamed gives its slot back too
    assert gate.starting == 0


async def test_a_json_turn_never_waits_for_a_start_slot() -> None:
    gate = StreamStarts(1, hold_s=5)
    service, _, _ = make_service(FakeModel(), starts=gate)
    await gate.enter()
    result = await asyncio.wait_for(service.chat(PRINCIPAL, ChatRequest(message="hi")), timeout=2)
    assert result.output


async def test_a_streamed_model_call_holds_its_slot_until_its_first_event() -> None:
    gate = StreamStarts(1, hold_s=5)
    service, _, _ = completion_service(FakeModel(first_token_delay=0.2, tokens=["a", "b"]), starts=gate)
    first = await service.prepare(PRINCIPAL, REQUEST, None, surface="openai.chat", streaming=True)
    second_prepare = asyncio.create_task(
        service.prepare(PRINCIPAL, REQUEST, None, surface="openai.chat", streaming=True)
    )
    events = service.stream(first)
    next_event = asyncio.create_task(anext(events))
    await asyncio.sleep(0.05)
    assert not second_prepare.done()
    await next_event
    second = await asyncio.wait_for(second_prepare, timeout=2)
    async for _ in events:
        pass
    assert gate.starting == 1  # the second call's slot, until it streams or is abandoned
    service.abandon(second)
    assert gate.starting == 0


async def test_a_streamed_turn_gives_its_slot_back_when_its_request_goes_upstream() -> None:
    """A slow upstream (here 5 s to its first token) holds no slot while it thinks."""
    gate = StreamStarts(1, hold_s=30)
    service, _, _ = make_service(FakeModel(first_token_delay=5, sends=True), starts=gate)
    first = await service.prepare(PRINCIPAL, ChatRequest(message="one"), streaming=True)
    events = service.stream(first)
    assert isinstance(await anext(events), RunStarted)
    waiting = asyncio.create_task(anext(events))  # the model has sent its request and waits
    second = await asyncio.wait_for(
        service.prepare(PRINCIPAL, ChatRequest(message="two"), streaming=True), timeout=2
    )
    assert not waiting.done()
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await events.aclose()
    service.abandon(second)
    assert gate.starting == 0
