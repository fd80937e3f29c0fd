"""``StreamLog`` on Redis Streams, so a client can resume a stream on any instance.

Per stream two keys sharing the hash tag ``{stream_id}``: ``<prefix>:{id}:meta``, a hash of the owner
(``tenant``) and the TTL in milliseconds, and ``<prefix>:{id}:frames``, a Redis Stream with one entry
``{id, frame, terminal}`` per SSE frame. Every append refreshes both TTLs (one Lua script), so a stream
lives ``ttl_s`` seconds after its last frame. Followers read with ``XREAD BLOCK``: stored entries come back
at once, new ones as they are added by any instance. The client's ``socket_timeout`` must be longer than
``block_ms``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import redis.asyncio as redis
import redis.exceptions as redis_exc

from contracts.errors import StoreUnavailable

_APPEND = """
local ttl = redis.call('HGET', KEYS[1], 'ttl_ms')
if not ttl then return 0 end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'frame', ARGV[2], 'terminal', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
"""
_BATCH = 500


@contextmanager
def _unavailable() -> Iterator[None]:
    """Any Redis or socket failure becomes ``StoreUnavailable`` with a fixed message (no URL, no password)."""
    try:
        yield
    except (redis_exc.RedisError, ConnectionError, TimeoutError, OSError) as exc:
        raise StoreUnavailable("stream log unavailable") from exc


def _bytes(value: bytes | str) -> bytes:
    """A reply part as bytes, whether or not the client decodes responses."""
    return value.encode() if isinstance(value, str) else value


def _entries(reply: Any) -> list[tuple[bytes | str, dict[Any, Any]]]:
    """The entries of a one-stream ``XREAD`` reply (a list of [key, entries] on RESP2, a dict on RESP3)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return list(next(iter(reply.values()))[0])
    return list(reply[0][1])


class RedisStreamLog:
    """Stream frames in Redis, shared by every instance using the same server and ``prefix``."""

    def __init__(self, client: redis.Redis, *, prefix: str = "sb:stream", block_ms: int = 1000) -> None:
        if block_ms <= 0:
            raise ValueError(f"block_ms must be positive, got {block_ms}")
        self._client = client
        self._prefix = prefix
        self._block_ms = block_ms
        self._append = client.register_script(_APPEND)

    def _keys(self, stream_id: str) -> tuple[str, str]:
        base = f"{self._prefix}:{{{stream_id}}}"
        return f"{base}:meta", f"{base}:frames"

    async def open(self, stream_id: str, tenant_id: str, *, ttl_s: float) -> None:
        """Start (or restart, dropping its frames) a stream owned by ``tenant_id`` for ``ttl_s`` seconds."""
        if not ttl_s > 0 or not math.isfinite(ttl_s):
            raise ValueError(f"ttl_s must be positive and finite, got {ttl_s!r}")
        ttl_ms = max(math.ceil(ttl_s * 1000), 1)
        meta, frames = self._keys(stream_id)
        with _unavailable():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(meta, frames)
                pipe.hset(meta, mapping={"tenant": tenant_id, "ttl_ms": ttl_ms})
                pipe.pexpire(meta, ttl_ms)
                await pipe.execute()

    async def append(self, stream_id: str, event_id: int, frame: bytes, *, terminal: bool) -> None:
        """Keep a frame (waking followers everywhere); a frame for an unknown or expired stream is dropped."""
        with _unavailable():
            await self._append(keys=list(self._keys(stream_id)), args=[event_id, frame, int(terminal)])

    async def tenant_of(self, stream_id: str) -> str | None:
        meta, _ = self._keys(stream_id)
        with _unavailable():
            tenant = await self._client.hget(meta, "tenant")
        return None if tenant is None else _bytes(tenant).decode()

    async def follow(self, stream_id: str, after_id: int) -> AsyncIterator[tuple[int, bytes]]:
        """Frames with ids > ``after_id``, stored then live, ending after the terminal one, or when the
        stream is unknown or expires (its TTL passes without an append) while waiting."""
        meta, frames = self._keys(stream_id)
        cursor: bytes | str = "0-0"
        with _unavailable():
            if not await self._client.exists(meta):
                return
        while True:
            with _unavailable():
                reply = await self._client.xread({frames: cursor}, count=_BATCH, block=self._block_ms)
            entries = _entries(reply)
            if not entries:
                with _unavailable():
                    if not await self._client.exists(meta):
                        return
                continue
            for entry_id, fields in entries:
                cursor = entry_id
                parts = {_bytes(key): _bytes(value) for key, value in fields.items()}
                event_id = int(parts[b"id"])
                if event_id > after_id:
                    yield event_id, parts[b"frame"]
                if parts[b"terminal"] == b"1":
                    return
