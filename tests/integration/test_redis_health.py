"""Deployment circuits shared through Redis: two boards (two instances) agree on cooldowns and probes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as redis

from adapters.routing.redis_health import RedisHealthBoard
from contracts.routing import HealthPolicy

pytestmark = pytest.mark.services
POLICY = HealthPolicy(failures_to_open=3, cooldown_s=1.0, probe_timeout_s=5.0)


@pytest.fixture
async def boards(redis_url: str) -> AsyncIterator[Callable[[], RedisHealthBoard]]:
    prefix = f"sbtest:{secrets.token_hex(4)}:"
    clients: list[redis.Redis] = []
    made: list[RedisHealthBoard] = []

    def make() -> RedisHealthBoard:
        client = redis.Redis.from_url(redis_url)
        clients.append(client)
        board = RedisHealthBoard(client, POLICY, prefix=prefix, refresh_s=0.2)
        board.start()  # as the composition root does
        made.append(board)
        return board

    yield make
    for board in made:
        await board.aclose()
    cleaner = clients[0] if clients else redis.Redis.from_url(redis_url)
    keys = [key async for key in cleaner.scan_iter(f"{prefix}*")]
    if keys:
        await cleaner.delete(*keys)
    for client in clients:
        await client.aclose()


async def eventually(check: Callable[[], bool], within_s: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_failures_seen_by_two_instances_open_the_circuit_for_both(
    boards: Callable[[], RedisHealthBoard],
) -> None:
    a, b = boards(), boards()
    assert await a.admit("p:m") and await b.admit("p:m")
    await a.report("p:m", ok=False, failure="server_error")
    await b.report("p:m", ok=False, failure="server_error")
    await a.report("p:m", ok=False, failure="timeout")  # the third failure across instances
    assert not await a.admit("p:m")
    await eventually(lambda: b.state("p:m").state == "cooling")
    assert not await b.admit("p:m")
    assert b.state("p:m").last_failure == "timeout"


async def test_after_the_cooldown_exactly_one_instance_gets_the_probe_and_its_success_closes_it(
    boards: Callable[[], RedisHealthBoard],
) -> None:
    a, b = boards(), boards()
    for _ in range(3):
        await a.report("p:m", ok=False, failure="overloaded")
    await eventually(lambda: b.state("p:m").state == "cooling")
    await asyncio.sleep(1.1)
    winners = [await a.admit("p:m"), await b.admit("p:m")]
    assert winners.count(True) == 1
    prober = a if winners[0] else b
    await prober.report("p:m", ok=True)
    other = b if prober is a else a
    await eventually(lambda: other.state("p:m").state == "ok")
    assert await other.admit("p:m")


async def test_request_errors_do_not_count(boards: Callable[[], RedisHealthBoard]) -> None:
    a = boards()
    for _ in range(5):
        await a.report("p:m", ok=False, failure="bad_request")
    assert await a.admit("p:m")
    assert a.state("p:m").consecutive_failures == 0


async def test_with_redis_gone_the_board_keeps_this_instances_view() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    board = RedisHealthBoard(client, POLICY, refresh_s=0.2)
    try:
        for _ in range(3):
            await board.report("p:m", ok=False, failure="server_error")
        assert not await board.admit("p:m")
        assert board.state("p:m").state == "cooling"
    finally:
        await board.aclose()
        await client.aclose()


async def test_an_instance_started_later_knows_a_circuit_opened_before(
    boards: Callable[[], RedisHealthBoard],
) -> None:
    a = boards()
    for _ in range(3):
        await a.report("p:m", ok=False, failure="refused")
    late = boards()
    await eventually(lambda: late.state("p:m").state == "cooling")
    assert not await late.admit("p:m")
