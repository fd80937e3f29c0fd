"""The drain (backend/services/drain.py) on plain asyncio: open work finishes within the grace period or is
stopped at its end, streams then end with exactly one ``run.failed`` (``shutting_down``), and stopped work
is closed so that the run behind it can store what it has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from backend.services.drain import Drain, until_cut, until_drained, within_drain
from contracts.errors import ShuttingDown
from contracts.events import Failed, StreamEvent, TextDelta


class Run:
    """A fake run: ``pieces`` deltas, ``delay_s`` apart; records whether it was closed early."""

    def __init__(self, pieces: int, delay_s: float) -> None:
        self.pieces = pieces
        self.delay_s = delay_s
        self.closed_early = False

    async def events(self) -> AsyncIterator[StreamEvent]:
        sent = 0
        try:
            for n in range(self.pieces):
                yield TextDelta(delta=f"t{n} ")
                sent += 1
                await asyncio.sleep(self.delay_s)
        finally:
            self.closed_early = sent < self.pieces


async def _collect(events: AsyncIterator[StreamEvent], delay_s: float = 0.0) -> list[StreamEvent]:
    seen = []
    async for event in events:
        seen.append(event)
        await asyncio.sleep(delay_s)
    return seen


async def test_work_that_ends_within_the_grace_period_is_left_alone() -> None:
    drain, run = Drain(grace_s=5), Run(pieces=3, delay_s=0.01)
    consumer = asyncio.create_task(_collect(until_drained(run.events(), drain, "c1")))
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    await drain.run()
    assert asyncio.get_running_loop().time() - started < 1  # returned as soon as the stream ended
    seen = await consumer
    assert [type(e) for e in seen] == [TextDelta] * 3 and not run.closed_early
    assert drain.open == 0


async def test_a_stream_open_at_the_end_of_the_grace_period_ends_with_one_shutdown_failure() -> None:
    drain, run = Drain(grace_s=0.2), Run(pieces=1000, delay_s=0.05)
    consumer = asyncio.create_task(_collect(until_drained(run.events(), drain, "c1")))
    await asyncio.sleep(0.06)
    assert drain.open == 1
    await drain.run()
    seen = await asyncio.wait_for(consumer, 1)
    failures = [e for e in seen if isinstance(e, Failed)]
    assert len(failures) == 1 and seen[-1] is failures[0]
    assert failures[0].conversation_id == "c1"
    assert (failures[0].error.code, failures[0].error.retryable) == ("shutting_down", True)
    assert run.closed_early and drain.open == 0
    assert not consumer.cancelled()


async def test_a_stream_stopped_between_two_events_is_closed_at_its_next_step() -> None:
    """The consumer is busy (e.g. writing a frame) when the drain stops the stream: nothing is cancelled
    under it; the stream ends at its next step."""
    drain, run = Drain(grace_s=0.05), Run(pieces=1000, delay_s=0)
    consumer = asyncio.create_task(_collect(until_drained(run.events(), drain, "c1"), delay_s=0.3))
    await asyncio.sleep(0.01)
    await drain.run()
    seen = await asyncio.wait_for(consumer, 2)
    assert isinstance(seen[-1], Failed) and sum(isinstance(e, Failed) for e in seen) == 1
    assert run.closed_early


async def test_a_follower_stopped_by_the_drain_just_ends() -> None:
    drain, run = Drain(grace_s=0.1), Run(pieces=1000, delay_s=0.02)
    consumer = asyncio.create_task(_collect(until_cut(run.events(), drain)))
    await asyncio.sleep(0.03)
    await drain.run()
    seen = await asyncio.wait_for(consumer, 1)
    assert seen and not any(isinstance(e, Failed) for e in seen) and run.closed_early


async def test_a_json_turn_cut_by_the_drain_raises_shutting_down_and_its_task_goes_on() -> None:
    drain = Drain(grace_s=0.1)

    async def turn() -> str:
        try:
            return await within_drain(drain, asyncio.sleep(60, result="late"))
        except ShuttingDown:
            await asyncio.sleep(0.01)  # the task was not left cancelled: it can still answer
            return "refused"

    task = asyncio.create_task(turn())
    await asyncio.sleep(0.01)
    await drain.run()
    assert await asyncio.wait_for(task, 1) == "refused"


async def test_work_that_starts_after_the_cut_is_stopped_at_once() -> None:
    drain = Drain(grace_s=0)
    await drain.run()
    with pytest.raises(ShuttingDown):
        await within_drain(drain, asyncio.sleep(60))
    seen = await _collect(until_drained(Run(pieces=5, delay_s=0).events(), drain, "c2"))
    assert [type(e) for e in seen] == [Failed]


async def test_begin_marks_the_process_draining_once() -> None:
    drain = Drain(grace_s=1)
    assert not drain.draining
    drain.begin()
    drain.begin()
    assert drain.draining
