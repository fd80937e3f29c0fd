"""``SessionStore`` on Redis: a hash per conversation header, a list of msgspec-encoded items, a set of
item ids, and a sorted set per tenant (score: ``updated_at`` in epoch microseconds) for listing.

Every key of a tenant carries the hash tag ``{tenant}``, so one Lua script can touch them all (also on
Redis Cluster). Append is that one script: it checks item ids, pushes the items, bumps the header and the
listing score and refreshes the TTL, atomically. Tenant ids must not contain ``}``.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import msgspec
import redis.asyncio as redis
import redis.exceptions as redis_exc

from adapters.persistence.cursors import decode_cursor, encode_cursor
from adapters.persistence.search_snippets import matches, searchable_text, snippet, title_for
from contracts.conversations import ConversationInfo, ConversationItem, ConversationPage, SearchHit
from contracts.errors import InvalidRequest, StoreUnavailable

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DUPLICATE = "SB_DUPLICATE_ITEM"
_encoder = msgspec.json.Encoder()
_item_decoder = msgspec.json.Decoder(ConversationItem)

_APPEND = """
local n = tonumber(ARGV[6])
local seen = {}
for i = 1, n do
  local id = ARGV[6 + i]
  if seen[id] or redis.call('SISMEMBER', KEYS[3], id) == 1 then
    return redis.error_reply('SB_DUPLICATE_ITEM')
  end
  seen[id] = true
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'created_at', ARGV[2], 'item_count', 0)
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'title', ARGV[5]) end
end
for i = 1, n do
  redis.call('RPUSH', KEYS[2], ARGV[6 + n + i])
  redis.call('SADD', KEYS[3], ARGV[6 + i])
end
redis.call('HINCRBY', KEYS[1], 'item_count', n)
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ttl) end
end
return redis.call('HGETALL', KEYS[1])
"""


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


@contextmanager
def redis_errors() -> Iterator[None]:
    """Re-raise connection failures and timeouts as ``StoreUnavailable`` (no URL in the message)."""
    try:
        yield
    except (redis_exc.ConnectionError, redis_exc.TimeoutError, OSError) as exc:
        raise StoreUnavailable(f"redis unavailable ({type(exc).__name__})") from exc


class RedisSessionStore:
    """Conversations in Redis; with ``ttl_seconds`` a conversation expires after that long without writes."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int | None = None, prefix: str = "sb") -> None:
        self._client = client
        self._ttl = ttl_seconds or 0
        self._prefix = prefix
        self._append = client.register_script(_APPEND)

    def _key(self, tenant_id: str, kind: str, conversation_id: str = "") -> str:
        suffix = f":{conversation_id}" if conversation_id else ""
        return f"{self._prefix}:{{{tenant_id}}}:{kind}{suffix}"

    def _keys(self, tenant_id: str, conversation_id: str) -> list[str]:
        return [
            self._key(tenant_id, "conv", conversation_id),
            self._key(tenant_id, "items", conversation_id),
            self._key(tenant_id, "ids", conversation_id),
            self._key(tenant_id, "convs"),
        ]

    @staticmethod
    def _info(tenant_id: str, conversation_id: str, fields: dict[str, str]) -> ConversationInfo:
        return ConversationInfo(
            id=conversation_id,
            tenant_id=tenant_id,
            created_at=datetime.fromisoformat(fields["created_at"]),
            updated_at=datetime.fromisoformat(fields["updated_at"]),
            item_count=int(fields["item_count"]),
            title=fields.get("title"),
        )

    async def append(
        self, tenant_id: str, conversation_id: str, items: Sequence[ConversationItem]
    ) -> ConversationInfo:
        now = datetime.now(UTC)
        args: list[Any] = [
            conversation_id,
            now.isoformat(),
            _micros(now),
            self._ttl,
            title_for(items) or "",
            len(items),
            *(item.id for item in items),
            *(_encoder.encode(item) for item in items),
        ]
        try:
            with redis_errors():
                flat = await self._append(keys=self._keys(tenant_id, conversation_id), args=args)
        except redis_exc.ResponseError as exc:
            if _DUPLICATE in str(exc):
                raise InvalidRequest("an item id is repeated in this conversation", field="items") from exc
            raise
        fields = {_str(flat[i]): _str(flat[i + 1]) for i in range(0, len(flat), 2)}
        return self._info(tenant_id, conversation_id, fields)

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationInfo | None:
        with redis_errors():
            raw = await self._client.hgetall(self._key(tenant_id, "conv", conversation_id))
        if not raw:
            return None
        return self._info(tenant_id, conversation_id, {_str(k): _str(v) for k, v in raw.items()})

    async def load_items(
        self, tenant_id: str, conversation_id: str, *, limit: int | None = None
    ) -> list[ConversationItem]:
        if limit is not None and limit <= 0:
            return []
        start = 0 if limit is None else -limit
        with redis_errors():
            payloads = await self._client.lrange(self._key(tenant_id, "items", conversation_id), start, -1)
        return [_item_decoder.decode(payload) for payload in payloads]

    async def _live(self, tenant_id: str, ids: list[str], gone: list[str]) -> list[ConversationInfo]:
        """Headers of ``ids`` in order; ids whose header expired are added to ``gone`` (the caller drops
        them from the index once it has finished paging by offset, so no live member is skipped)."""
        if not ids:
            return []
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                for conversation_id in ids:
                    pipe.hgetall(self._key(tenant_id, "conv", conversation_id))
                headers = await pipe.execute()
        gone.extend(cid for cid, raw in zip(ids, headers, strict=True) if not raw)
        return [
            self._info(tenant_id, cid, {_str(k): _str(v) for k, v in raw.items()})
            for cid, raw in zip(ids, headers, strict=True)
            if raw
        ]

    async def _ordered_ids(
        self, tenant_id: str, after: tuple[datetime, str] | None
    ) -> AsyncIterator[list[str]]:
        """Conversation ids by (updated_at desc, id desc), strictly after ``after``, in batches."""
        index = self._key(tenant_id, "convs")
        top: str | int = "+inf"
        if after is not None:
            score = _micros(after[0])
            with redis_errors():
                ties = [
                    _str(m)
                    for m in cast("list[bytes]", await self._client.zrangebyscore(index, score, score))
                ]
            yield sorted((m for m in ties if m < after[1]), reverse=True)
            top = f"({score}"
        offset, batch = 0, 50
        while True:
            with redis_errors():
                members = cast(
                    "list[bytes]",
                    await self._client.zrevrangebyscore(index, top, "-inf", start=offset, num=batch),
                )
            if not members:
                return
            yield [_str(m) for m in members]
            offset += batch

    async def list(self, tenant_id: str, *, limit: int, cursor: str | None = None) -> ConversationPage:
        after = decode_cursor(cursor) if cursor else None
        found: list[ConversationInfo] = []
        gone: list[str] = []
        async for ids in self._ordered_ids(tenant_id, after):
            found.extend(await self._live(tenant_id, ids, gone))
            if len(found) > limit:
                break
        if gone:
            with redis_errors():
                await self._client.zrem(self._key(tenant_id, "convs"), *gone)
        page = found[:limit]
        next_cursor = encode_cursor(page[-1].updated_at, page[-1].id) if len(found) > limit and page else None
        return ConversationPage(data=page, next_cursor=next_cursor)

    async def delete(self, tenant_id: str, conversation_id: str) -> bool:
        header, items, ids, index = self._keys(tenant_id, conversation_id)
        with redis_errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(header, items, ids)
                pipe.zrem(index, conversation_id)
                deleted, _ = await pipe.execute()
        return bool(deleted)

    async def search(self, tenant_id: str, query: str, *, limit: int = 5) -> builtins.list[SearchHit]:
        """Scans the tenant's conversations newest first (Redis has no text index): fine for the
        history sizes sessions hold, not a substitute for the SQL store's search."""
        hits: builtins.list[SearchHit] = []
        if not query.strip():
            return hits
        async for ids in self._ordered_ids(tenant_id, None):
            for conversation_id in ids:
                for item in reversed(await self.load_items(tenant_id, conversation_id)):
                    text = searchable_text(item)
                    if text is not None and matches(text, query):
                        hits.append(
                            SearchHit(
                                conversation_id=conversation_id, item_id=item.id, snippet=snippet(text, query)
                            )
                        )
                        if len(hits) >= limit:
                            return hits
        return hits
