"""``StreamLog`` conformance: every adapter replays, follows live frames and ends the same way.

Each test bounds its waits with ``asyncio.timeout`` so that a follower that never ends fails, not hangs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from adapters.streams.redis_stream_log import RedisStreamLog
from contracts.errors import StoreUnavailable
from contracts.ports import StreamLog
from tests.conformance.streams.backends import StreamLogs


async def _collect(frames: AsyncIterator[tuple[int, bytes]], *, within_s: float = 3) -> list[int]:
    async with asyncio.timeout(within_s):
        return [event_id async for event_id, _ in frames]


async def _write(log: StreamLog, stream_id: str, ids: range, *, terminal_at: int | None = None) -> None:
    for event_id in ids:
        await log.append(stream_id, event_id, f"frame {event_id}".encode(), terminal=event_id == terminal_at)


async def test_follow_replays_frames_after_the_given_id(logs: StreamLogs) -> None:
    await logs.writer.open("s1", "tenant-a", ttl_s=30)
    await _write(logs.writer, "s1", range(1, 5), terminal_at=4)

    assert await _collect(logs.reader.follow("s1", 0)) == [1, 2, 3, 4]
    assert await _collect(logs.reader.follow("s1", 2)) == [3, 4]
    assert await _collect(logs.reader.follow("s1", 4)) == []


async def test_follow_returns_the_stored_frame_bytes(logs: StreamLogs) -> None:
    frame = b"id: 1\nevent: message.delta\ndata: {}\n\n" + "é".encode() + b"\x00\xff"
    await logs.writer.open("s1", "tenant-a", ttl_s=30)
    await logs.writer.append("s1", 1, frame, terminal=True)

    async with asyncio.timeout(3):
        assert [item async for item in logs.reader.follow("s1", 0)] == [(1, frame)]


async def test_follow_receives_live_frames_from_another_instance(logs: StreamLogs) -> None:
    """A follower started mid-stream gets the stored frame, then each frame as the writer appends it."""
    await logs.writer.open("s1", "tenant-a", ttl_s=30)
    await _write(logs.writer, "s1", range(1, 2))
    follower = asyncio.create_task(_collect(logs.reader.follow("s1", 0)))
    await asyncio.sleep(0.05)

    for event_id in range(2, 6):
        await logs.writer.append("s1", event_id, b"x", terminal=event_id == 5)
        await asyncio.sleep(0.02)

    assert await follower == [1, 2, 3, 4, 5]


async def test_several_followers_each_get_every_frame(logs: StreamLogs) -> None:
    await logs.writer.open("s1", "tenant-a", ttl_s=30)
    followers = [asyncio.create_task(_collect(logs.reader.follow("s1", after))) for after in (0, 0, 2)]
    await asyncio.sleep(0.05)

    await _write(logs.writer, "s1", range(1, 5), terminal_at=4)

    assert await asyncio.gather(*followers) == [[1, 2, 3, 4], [1, 2, 3, 4], [3, 4]]


async def test_follow_ends_after_the_terminal_frame(logs: StreamLogs) -> None:
    """Anything appended after the terminal frame is never delivered."""
    await logs.writer.open("s1", "tenant-a", ttl_s=30)
    await _write(logs.writer, "s1", range(1, 4), terminal_at=2)

    assert await _collect(logs.reader.follow("s1", 0)) == [1, 2]


async def test_unknown_stream(logs: StreamLogs) -> None:
    """No owner, nothing to follow (ends at once), and an append to it is dropped."""
    await logs.writer.append("nope", 1, b"x", terminal=False)

    assert await logs.reader.tenant_of("nope") is None
    assert await _collect(logs.reader.follow("nope", 0), within_s=1) == []


async def test_tenant_of_names_the_owner(logs: StreamLogs) -> None:
    await logs.writer.open("s1", "tenant-a", ttl_s=30)
    await logs.writer.open("s2", "tenant-b", ttl_s=30)

    assert await logs.reader.tenant_of("s1") == "tenant-a"
    assert await logs.reader.tenant_of("s2") == "tenant-b"


async def test_stream_expires_after_ttl_without_appends(logs: StreamLogs) -> None:
    await logs.writer.open("s1", "tenant-a", ttl_s=0.2)
    await _write(logs.writer, "s1", range(1, 3))
    await asyncio.sleep(0.3)

    assert await logs.reader.tenant_of("s1") is None
    assert await _collect(logs.reader.follow("s1", 0), within_s=1) == []


async def test_append_refreshes_the_ttl(logs: StreamLogs) -> None:
    await logs.writer.open("s1", "tenant-a", ttl_s=0.3)
    await asyncio.sleep(0.2)
    await _write(logs.writer, "s1", range(1, 2))
    await asyncio.sleep(0.2)

    assert await logs.reader.tenant_of("s1") == "tenant-a"
    assert await _collect(logs.reader.follow("s1", 0), within_s=2) == [1]


async def test_follower_ends_when_the_stream_expires_while_waiting(logs: StreamLogs) -> None:
    """A writer that dies before its terminal frame does not leave followers hanging forever."""
    await logs.writer.open("s1", "tenant-a", ttl_s=0.3)
    await _write(logs.writer, "s1", range(1, 3))

    assert await _collect(logs.reader.follow("s1", 0), within_s=2) == [1, 2]


@pytest.mark.services
async def test_redis_keys_carry_the_ttl(redis_client: tuple[redis.Redis, str]) -> None:
    """Both keys of a stream (owner, frames) expire ``ttl_s`` after the last append."""
    client, prefix = redis_client
    log = RedisStreamLog(client, prefix=prefix)
    await log.open("s1", "tenant-a", ttl_s=5)
    await _write(log, "s1", range(1, 3))

    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    ttls = [await client.pttl(key) for key in keys]

    assert len(keys) == 2
    assert all(4000 < ttl <= 5000 for ttl in ttls)


async def test_redis_down_raises_store_unavailable_without_the_url(closed_port_client: redis.Redis) -> None:
    log = RedisStreamLog(closed_port_client, block_ms=100)
    started = time.monotonic()
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: log.open("s1", "tenant-a", ttl_s=5),
        lambda: log.append("s1", 1, b"x", terminal=False),
        lambda: log.tenant_of("s1"),
        lambda: _collect(log.follow("s1", 0)),
    ]

    for call in calls:
        with pytest.raises(StoreUnavailable) as caught:
            await call()
        assert str(caught.value) == "stream log unavailable"
        assert "127.0.0.1" not in str(caught.value)
    assert time.monotonic() - started < 3
