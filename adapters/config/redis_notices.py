"""``RedisConfigNotices``: reload notices on one Redis pub/sub channel, for every instance using it.

The channel is ``switchboard:config:reload:db<N>`` (N: the Redis database of ``REDIS_URL``). A notice is
``{"origin": <this process>, "version": <the new configuration's version>}``; a process ignores
its own. The listener reconnects after a Redis outage (logged once per outage); publishing while Redis is
down is logged and dropped (the operator can still reload each instance by SIGHUP or its admin route).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import redis.exceptions as redis_exc
import structlog

log = structlog.get_logger("switchboard.config")

CHANNEL = "switchboard:config:reload"
_ERRORS = (redis_exc.RedisError, OSError, asyncio.TimeoutError)
RETRY_S = 1.0
CLOSE_WAIT_S = 2.0


class _Notice(msgspec.Struct, frozen=True):
    origin: str
    version: str


class RedisConfigNotices:
    """Implements ``ConfigNotices``."""

    def __init__(self, client: Any, *, channel: str | None = None) -> None:
        self._client = client
        # pub/sub ignores the database number: scope the channel by it, as keys are
        db = client.connection_pool.connection_kwargs.get("db", 0)
        self._channel = channel or f"{CHANNEL}:db{db}"
        self.origin = uuid.uuid4().hex
        self._listener: asyncio.Task[None] | None = None
        self._down = False

    async def publish(self, version: str) -> None:
        try:
            await self._client.publish(self._channel, msgspec.json.encode(_Notice(self.origin, version)))
        except _ERRORS as exc:
            log.warning("config.notice_not_sent", error=type(exc).__name__, version=version)

    def start(self, on_notice: Callable[[str], Awaitable[None]]) -> None:
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(on_notice))

    async def _listen(self, on_notice: Callable[[str], Awaitable[None]]) -> None:
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._down = False
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=RETRY_S)
                        if message is None:
                            continue
                        try:
                            notice = msgspec.json.decode(message["data"], type=_Notice)
                        except msgspec.DecodeError:
                            continue
                        if notice.origin != self.origin:
                            await on_notice(notice.version)
            except _ERRORS as exc:
                if not self._down:
                    log.warning("config.notices_down", error=type(exc).__name__)
                    self._down = True
                await asyncio.sleep(RETRY_S)

    async def aclose(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait({listener}, timeout=CLOSE_WAIT_S)
