"""Benchmark: event-loop CPU per turn of the ``agents_sdk`` engine over a zero-latency ``LanguageModel``.

``python -m ops.bench.sdk_engine [--turns 500] [--repeat 5] [--warmup 100] [--no-tracing]``

No HTTP and no upstream: ``InstantModel`` answers at once (a text answer, or one ``lookup`` tool call when
the user says ``use lookup`` and the request offers it), so every millisecond measured is Switchboard's
conversion plus the Agents SDK's own per-run work. Scenarios: ``run`` and ``stream`` of a text turn (one
model call) and of a one-tool turn (two model calls and a tool call through the registry); each runs
``--warmup`` unmeasured turns, then ``--repeat`` blocks of ``--turns`` sequential turns. Reports CPU ms
per turn (``time.process_time``) of the best and the median block (the best is the least disturbed by
other processes on a shared machine), wall ms per turn of the best block, and turns per second of one
core at the best block's CPU. SDK tracing is on as in production (spans to our structlog processor,
whose debug lines are filtered out at INFO), unless ``--no-tracing``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

import structlog

from adapters.providers.openai.agents.runtime import AgentsSdkRuntime
from contracts.agents import AgentDescriptor
from contracts.errors import NotFound
from contracts.models import ModelDone, ModelEvent, ModelRequest, ModelResponse, ModelTextDelta, ToolReturn
from contracts.ports import AgentTurn
from contracts.tools import ToolCall, ToolContext, ToolResult, ToolSpec
from contracts.usage import Usage

LOOKUP = ToolSpec(
    name="lookup",
    description="Look something up.",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
AGENT = AgentDescriptor(
    key="assistant",
    description="General helper.",
    instructions="You are a helpful assistant.",
    tools=("lookup",),
)
USAGE = Usage(input_tokens=20, output_tokens=8, total_tokens=28, cached_tokens=4, reasoning_tokens=2)
ANSWER = ("Here ", "is ", "a ", "short ", "answer.")


class InstantModel:
    """A ``LanguageModel`` that answers at once."""

    name = "bench"

    def __init__(self) -> None:
        self.calls = 0

    def _answer(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        last = request.messages[-1]
        if request.tools and not isinstance(last, ToolReturn) and "use lookup" in getattr(last, "text", ""):
            call = ToolCall(call_id=f"call_{self.calls}", name="lookup", arguments={"query": "x"})
            return ModelResponse(
                tool_calls=(call,), finish_reason="tool_calls", usage=USAGE, provider="bench", model="m"
            )
        return ModelResponse(text="".join(ANSWER), usage=USAGE, provider="bench", model="m")

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return self._answer(request)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        response = self._answer(request)
        if response.text:
            for piece in ANSWER:
                yield ModelTextDelta(delta=piece)
        yield ModelDone(response=response)


class Tools:
    """A ``ToolRegistryPort`` with ``lookup`` answering at once."""

    def specs(self, names: Sequence[str] | None = None) -> list[ToolSpec]:
        return [LOOKUP]

    async def invoke(self, call: ToolCall, context: ToolContext) -> ToolResult:
        return ToolResult(call_id=call.call_id, name=call.name, output="found it")


class Catalog:
    default_key = "assistant"

    def get(self, key: str) -> AgentDescriptor:
        if key != AGENT.key:
            raise NotFound("agent", key)
        return AGENT

    def all(self) -> list[AgentDescriptor]:
        return [AGENT]


@dataclass(frozen=True)
class Result:
    scenario: str
    turns: int
    cpu_ms: float
    median_cpu_ms: float
    wall_ms: float

    def line(self) -> str:
        return (
            f"{self.scenario:<12} {self.turns:>5} turns x{self.blocks}  CPU/turn {self.cpu_ms:6.3f} ms "
            f"(median {self.median_cpu_ms:6.3f})  wall/turn {self.wall_ms:6.3f} ms  "
            f"{1000 / self.cpu_ms:5.0f} turns/s/core"
        )

    blocks: int = 1


def _turn(text: str) -> AgentTurn:
    return AgentTurn(agent=AGENT, history=(), input=text, context=ToolContext(tenant_id="bench"))


async def _one(engine: AgentsSdkRuntime, model: InstantModel, turn: AgentTurn, streamed: bool) -> None:
    if streamed:
        async for _ in engine.stream(turn, model):
            pass
    else:
        await engine.run(turn, model)


async def measure(
    engine: AgentsSdkRuntime, scenario: str, *, turns: int, warmup: int, repeat: int = 1
) -> Result:
    streamed = scenario.startswith("stream")
    turn = _turn('please use lookup {"query": "x"}' if scenario.endswith("tool") else "hello there")
    model = InstantModel()
    for _ in range(warmup):
        await _one(engine, model, turn, streamed)
    blocks: list[tuple[float, float]] = []
    for _ in range(repeat):
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(turns):
            await _one(engine, model, turn, streamed)
        blocks.append(
            (1000 * (time.process_time() - cpu) / turns, 1000 * (time.perf_counter() - wall) / turns)
        )
    best = min(blocks)
    median = statistics.median(cpu for cpu, _ in blocks)
    return Result(scenario, turns, best[0], median, best[1], blocks=repeat)


async def main_async(turns: int, repeat: int, warmup: int, tracing: bool) -> list[Result]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    engine = AgentsSdkRuntime(Catalog(), Tools(), max_turns=10, tracing=tracing)
    return [
        await measure(engine, scenario, turns=turns, warmup=warmup, repeat=repeat)
        for scenario in ("run text", "run tool", "stream text", "stream tool")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.sdk_engine", description=__doc__)
    parser.add_argument("--turns", type=int, default=500, help="turns per measured block")
    parser.add_argument("--repeat", type=int, default=5, help="measured blocks per scenario")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--no-tracing", action="store_true", help="RunConfig(tracing_disabled=True)")
    args = parser.parse_args()
    results = asyncio.run(main_async(args.turns, args.repeat, args.warmup, not args.no_tracing))
    print(f"agents_sdk engine over an instant LanguageModel (tracing {'off' if args.no_tracing else 'on'})")
    for result in results:
        print(result.line())


if __name__ == "__main__":
    main()
