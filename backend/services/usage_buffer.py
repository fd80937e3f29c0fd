"""Usage records written off the request's critical path, without losing them on shutdown.

``record`` only appends to an in-process buffer; a background task flushes batches every
``flush_interval_s`` (or as soon as ``max_batch`` are waiting). A failed flush keeps the batch and retries;
the buffer is bounded (oldest records dropped, with a warning, only past ``max_pending``). ``aclose`` (registry
close, i.e. shutdown) flushes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import structlog

from contracts.accounting import UsageRecord
from contracts.errors import StoreUnavailable

log = structlog.get_logger("switchboard.usage")


class BatchUsageWriter(Protocol):
    async def record_many(self, records: Sequence[UsageRecord]) -> None: ...

    async def since(self, tenant_id: str, start: datetime) -> list[UsageRecord]: ...


class BufferedUsageRecorder:
    """Implements ``UsageRecorder`` over a writer that can insert batches."""

    def __init__(
        self,
        writer: BatchUsageWriter,
        *,
        flush_interval_s: float = 0.5,
        max_batch: int = 500,
        max_pending: int = 100_000,
    ) -> None:
        self._writer = writer
        self._interval = flush_interval_s
        self._max_batch = max_batch
        self._pending: deque[UsageRecord] = deque()
        self._max_pending = max_pending
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def record(self, record: UsageRecord) -> None:
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            log.warning("usage.buffer_full", dropped=1)
        self._pending.append(record)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._run())
        if len(self._pending) >= self._max_batch:
            self._wake.set()

    async def since(self, tenant_id: str, start: datetime) -> list[UsageRecord]:
        await self.flush()
        return await self._writer.since(tenant_id, start)

    async def flush(self) -> None:
        """Write everything pending (in batches). Raises ``StoreUnavailable`` if the store is down."""
        async with self._lock:
            while self._pending:
                batch = [self._pending[i] for i in range(min(self._max_batch, len(self._pending)))]
                await self._writer.record_many(batch)
                for _ in batch:
                    self._pending.popleft()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except StoreUnavailable:
                log.warning("usage.flush_failed", pending=len(self._pending))
            except Exception as exc:  # a batch the store rejects: set it aside rather than block the rest
                dropped = min(self._max_batch, len(self._pending))
                for _ in range(dropped):
                    self._pending.popleft()
                log.error("usage.batch_dropped", dropped=dropped, error=type(exc).__name__, exc_info=exc)

    async def aclose(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        for attempt in range(3):
            try:
                await self.flush()
                return
            except StoreUnavailable:
                await asyncio.sleep(0.5 * (attempt + 1))
        log.error("usage.lost_on_shutdown", pending=len(self._pending))
