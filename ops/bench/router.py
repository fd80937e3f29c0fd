"""Micro-benchmark: the router's own cost per model call, against the same model called directly, same run.

``uv run python -m ops.bench.router [--calls 20000] [--rounds 3] [--redis URL]``

The model is an in-process ``LanguageModel`` that does no work (a constant answer; a stream of 3 text
pieces and its end), so every microsecond measured above the ``direct`` row is the router's: choosing and
ordering deployments, admission on the health board, the deployment's in-flight and latency bookkeeping,
the per-deployment request copy (``model`` replaced), and the success report.

Rows, each at concurrency 1 (sequential calls on one event loop):

- ``direct``: ``model.complete(request)`` / ``model.stream(request)`` iterated to the end;
- ``route-1``: a route of one deployment (``priority``);
- ``route-3 <strategy>``: a route of three deployments of that model with each strategy;
- with ``--redis``: ``route-3 priority`` on ``RedisHealthBoard`` (healthy circuits are answered from
  its local mirror, so Redis is not on the healthy path; the row shows it).

Per row: mean and median microseconds per call over ``--rounds`` rounds of ``--calls`` calls (the
median round is reported; GC is collected between rows), and the overhead over ``direct`` in the same
round. Target (issue 8): a 3-deployment route adds <= 50 us per call. Writes ``var/bench/router.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from adapters.routing.memory_health import MemoryHealthBoard
from backend.services.routing.deployments import Deployment
from backend.services.routing.policy import RoutePolicy, Strategy
from backend.services.routing.router import ModelRouter
from contracts.models import ModelDone, ModelEvent, ModelRequest, ModelResponse, ModelTextDelta, UserPrompt
from contracts.ports import LanguageModel
from contracts.routing import HealthBoard, HealthPolicy
from ops.bench import results

REQUEST = ModelRequest(messages=(UserPrompt.of("hello"),), model="m")
STRATEGIES: tuple[Strategy, ...] = ("priority", "weighted", "least_busy", "latency")


class NullModel:
    """A ``LanguageModel`` that does no work."""

    name = "null"

    def __init__(self) -> None:
        self._answer = ModelResponse(text="hi", provider="null", model="m")
        self._pieces = (ModelTextDelta(delta="h"), ModelTextDelta(delta="i"), ModelTextDelta(delta="!"))

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return self._answer

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        for piece in self._pieces:
            yield piece
        yield ModelDone(response=self._answer)


@dataclass
class Row:
    kind: str
    row: str
    calls: int
    us_per_call: float
    overhead_us: float | None = None


def _route(model: LanguageModel, size: int, strategy: Strategy, board: HealthBoard) -> ModelRouter:
    deployments = [
        Deployment(provider=f"p{i}", model=f"m{i}", target=model, capabilities=frozenset({"tools"}))
        for i in range(size)
    ]
    return ModelRouter(
        f"bench-{size}", deployments, RoutePolicy(strategy=strategy), board, rng=random.Random(1)
    )


def _caller(target: LanguageModel, kind: str) -> Callable[[], Awaitable[Any]]:
    if kind == "complete":
        return lambda: target.complete(REQUEST)

    async def drain() -> None:
        async for _ in target.stream(REQUEST):
            pass

    return drain


async def _time(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(min(500, calls)):  # warm-up: caches (servable sets) and the allocator
        await call()
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls * 1e6


async def _redis_board(url: str) -> tuple[HealthBoard, Callable[[], Awaitable[None]]]:
    from redis.asyncio import Redis

    from adapters.routing.redis_health import RedisHealthBoard

    client = Redis.from_url(url)
    board = RedisHealthBoard(client, HealthPolicy(), prefix=f"switchboard-bench-{random.getrandbits(32):x}:")

    async def close() -> None:
        await board.aclose()
        await client.aclose()

    return board, close


async def run(calls: int, rounds: int, redis_url: str | None) -> list[Row]:
    model = NullModel()
    targets: dict[str, LanguageModel] = {
        "direct": model,
        "route-1 priority": _route(model, 1, "priority", MemoryHealthBoard(HealthPolicy())),
    }
    for strategy in STRATEGIES:
        targets[f"route-3 {strategy}"] = _route(model, 3, strategy, MemoryHealthBoard(HealthPolicy()))
    close: Callable[[], Awaitable[None]] | None = None
    if redis_url:
        board, close = await _redis_board(redis_url)
        targets["route-3 priority, redis board"] = _route(model, 3, "priority", board)
    rows: list[Row] = []
    try:
        for kind in ("complete", "stream"):
            measured: dict[str, list[float]] = {name: [] for name in targets}
            overheads: dict[str, list[float]] = {name: [] for name in targets}
            for _ in range(rounds):
                direct = await _time(_caller(model, kind), calls)
                measured["direct"].append(direct)
                for name, target in targets.items():
                    if name == "direct":
                        continue
                    took = await _time(_caller(target, kind), calls)
                    measured[name].append(took)
                    overheads[name].append(took - direct)
            for name in targets:
                us = statistics.median(measured[name])
                extra = statistics.median(overheads[name]) if overheads[name] else None
                rows.append(Row(kind, name, calls, round(us, 2), None if extra is None else round(extra, 2)))
    finally:
        if close is not None:
            await close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.router", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="sequential calls per row and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", metavar="URL", help="also measure the Redis health board (a test Redis)")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.rounds < 1:
        parser.error("--calls and --rounds must be >= 1")
    rows = asyncio.run(run(args.calls, args.rounds, args.redis))
    print(f"router overhead per call, concurrency 1, median of {args.rounds} rounds x {args.calls} calls")
    print(f"{'kind':<9} {'row':<32} {'us/call':>9} {'over direct':>12}")
    for row in rows:
        extra = "" if row.overhead_us is None else f"{row.overhead_us:+.1f} us"
        print(f"{row.kind:<9} {row.row:<32} {row.us_per_call:>9.1f} {extra:>12}")
    worst = max((r.overhead_us or 0.0) for r in rows if r.row.startswith("route-3"))
    print(f"worst 3-deployment overhead: {worst:.1f} us (target <= 50 us)")
    results.write("router", {"rows": [asdict(r) for r in rows], "worst_route3_overhead_us": worst})
    return 0


if __name__ == "__main__":
    sys.exit(main())
