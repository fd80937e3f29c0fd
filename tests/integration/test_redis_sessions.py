"""Redis-specific behaviour of ``RedisSessionStore``: TTLs and listing after keys expire."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis

from adapters.persistence.redis_sessions import RedisSessionStore
from contracts.conversations import UserMessage

pytestmark = pytest.mark.services


@pytest.fixture
async def client_and_prefix(redis_url: str) -> AsyncIterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(redis_url)
    prefix = f"sbtest-{secrets.token_hex(6)}"
    yield client, prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def message(item_id: str) -> UserMessage:
    return UserMessage(id=item_id, created_at=datetime.now(UTC), text="hi")


async def test_every_key_gets_the_ttl_and_writes_refresh_it(
    client_and_prefix: tuple[redis.Redis, str],
) -> None:
    client, prefix = client_and_prefix
    store = RedisSessionStore(client, ttl_seconds=300, prefix=prefix)
    await store.append("t1", "c1", [message("m1")])
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    assert len(keys) == 4
    for key in keys:
        await client.expire(key, 10)

    await store.append("t1", "c1", [message("m2")])

    ttls = [await client.ttl(key) for key in keys]
    assert all(240 < ttl <= 300 for ttl in ttls)


async def test_without_ttl_keys_do_not_expire(client_and_prefix: tuple[redis.Redis, str]) -> None:
    client, prefix = client_and_prefix
    await RedisSessionStore(client, prefix=prefix).append("t1", "c1", [message("m1")])

    assert {await client.ttl(key) async for key in client.scan_iter(match=f"{prefix}:*")} == {-1}


async def test_expired_conversation_disappears_from_the_listing(
    client_and_prefix: tuple[redis.Redis, str],
) -> None:
    client, prefix = client_and_prefix
    store = RedisSessionStore(client, ttl_seconds=300, prefix=prefix)
    for conversation_id in ("old", "new"):
        await store.append("t1", conversation_id, [message("m1")])
    await client.delete(f"{prefix}:{{t1}}:conv:old", f"{prefix}:{{t1}}:items:old", f"{prefix}:{{t1}}:ids:old")

    page = await store.list("t1", limit=1)

    assert [info.id for info in page.data] == ["new"]
    assert page.next_cursor is None
    assert await client.zscore(f"{prefix}:{{t1}}:convs", "old") is None


async def test_expired_conversations_in_one_batch_do_not_hide_live_ones_in_the_next(
    client_and_prefix: tuple[redis.Redis, str],
) -> None:
    """Listing pages through the index 50 at a time; dropping expired members mid-way must not shift the
    next batch past live conversations."""
    client, prefix = client_and_prefix
    store = RedisSessionStore(client, ttl_seconds=300, prefix=prefix)
    ids = [f"c{n:03d}" for n in range(120)]
    for conversation_id in ids:
        await store.append("t1", conversation_id, [message("m1")])
    newest_first = list(reversed(ids))
    for expired in newest_first[:60]:  # the whole first batch and then some
        await client.delete(f"{prefix}:{{t1}}:conv:{expired}")

    page = await store.list("t1", limit=100)

    assert [info.id for info in page.data] == newest_first[60:]
