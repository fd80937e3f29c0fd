"""Group commit: concurrent writes share one transaction.

A store hands each write to ``GroupCommit.submit``; while one batch is being written, new writes queue, and
the next batch takes all of them at once. Under load this turns N transactions (each paying connection
checkout, BEGIN, statements and COMMIT, and on SQLite the single write lock) into one; idle, a write goes
out alone at once, so latency does not grow.

A batch that fails on something a single write can cause (a repeated item id) is retried write by write,
so one bad write never fails its neighbours. A failure of the store itself (``StoreUnavailable``) fails
the whole batch at once. A caller that is cancelled while waiting does not cancel its write: it is
written anyway, so what was accepted is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from contracts.errors import StoreUnavailable

Req = TypeVar("Req")
Res = TypeVar("Res")


class GroupCommit(Generic[Req, Res]):
    def __init__(
        self,
        write_batch: Callable[[Sequence[Req]], Awaitable[Sequence[Res]]],
        write_one: Callable[[Req], Awaitable[Res]],
        *,
        max_batch: int = 256,
    ) -> None:
        self._write_batch = write_batch
        self._write_one = write_one
        self._max_batch = max_batch
        self._pending: list[tuple[Req, asyncio.Future[Res]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, request: Req) -> Res:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Res] = loop.create_future()
        self._pending.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain())
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: len(batch)]
            await self._write(batch)

    async def _write(self, batch: list[tuple[Req, asyncio.Future[Res]]]) -> None:
        try:
            results = await self._write_batch([request for request, _ in batch])
        except StoreUnavailable as exc:
            for _, future in batch:
                _settle(future, error=exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            for request, future in batch:  # find the culprit: each write alone
                try:
                    _settle(future, result=await self._write_one(request))
                except Exception as single:
                    _settle(future, error=single)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[Res], *, result: Res | None = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
