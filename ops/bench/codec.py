"""Micro-benchmark: CPU per model call of the native OpenAI wire codecs vs the ``openai`` client, same run.

``uv run python -m ops.bench.codec [--mock loop|process|both] [--calls 300] [--streams 100] [--chunks 50]``

The mock upstream (``ops.mock_upstream``, no latency, no token delay) runs on a free 127.0.0.1 port:

- ``loop`` (default): in-process, in the benchmark's own event loop (``running_mock``). ``process_time``
  per call then counts the client AND the mock's work for that call (the same mock work for both
  clients, so the difference between rows is the clients' difference; ratios are diluted by it).
- ``process``: ``python -m ops.mock_upstream`` as a child process; ``process_time`` is the client alone.

For each API (Chat Completions, Responses) and each call kind (a whole answer; a stream of ``--chunks``
text pieces) it measures, after 20 warm-up calls, ``--calls``/``--streams`` sequential calls through:

- ``native``: ``OpenAIModel.complete`` / ``.stream`` (adapters/providers/openai/wire: msgspec + aiohttp);
- ``openai``: ``openai.AsyncOpenAI`` with its aiohttp client (``DefaultAioHttpClient``, as the provider
  builds it in ``adapters/providers/openai/client.py``), ``chat.completions.create`` /
  ``responses.create``, streams iterated to the end.

Reports per call: CPU (``time.process_time``) and wall time, and the CPU ratio to ``native``. Each row
stops early after ``--max-seconds``. Writes ``var/bench/codec.json``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from adapters.providers.openai.client import ClientHolder
from adapters.providers.openai.settings import OpenAISettings
from adapters.providers.openai.wire.model import OpenAIModel
from contracts.models import ModelRequest, UserPrompt
from ops.bench import results, stats
from ops.bench.harness import REPO
from ops.mock_upstream import MockConfig, running_mock

WARMUP = 20
API_KEY = "bench-key"
Call = Callable[[], Awaitable[Any]]


@dataclass
class Row:
    mock: str
    api: str
    kind: str
    client: str
    calls: int
    cpu_us: float
    wall_us: float


@asynccontextmanager
async def mock_upstream(where: str) -> AsyncIterator[str]:
    """The mock's base URL: in this loop (``loop``) or in a child process (``process``)."""
    if where == "loop":
        async with running_mock(config=MockConfig()) as mock:
            yield mock.base_url
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.mock_upstream", "--port", "0", cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        line = (await child.stdout.readline()).decode().strip()  # "listening on http://127.0.0.1:<port>"
        if not line.startswith("listening on "):
            raise RuntimeError(f"the mock upstream did not start: {line!r}")
        yield line.removeprefix("listening on ") + "/v1"
    finally:
        child.terminate()
        await child.wait()


async def measure(call: Call, calls: int, max_seconds: float) -> tuple[int, float, float]:
    """``(calls made, CPU s, wall s)`` after the warm-up."""
    for _ in range(WARMUP):
        await call()
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deadline = wall0 + max_seconds
    made = 0
    while made < calls and time.perf_counter() < deadline:
        await call()
        made += 1
    return made, time.process_time() - cpu0, time.perf_counter() - wall0


def _native(model: OpenAIModel, request: ModelRequest, *, stream: bool) -> Call:
    async def complete() -> Any:
        return await model.complete(request)

    async def streamed() -> Any:
        last = None
        async for event in model.stream(request):
            last = event
        return last

    return streamed if stream else complete


def _openai(client: Any, api: str, model: str, text: str, *, stream: bool) -> Call:
    messages = [{"role": "user", "content": text}]

    async def chat() -> Any:
        if not stream:
            return await client.chat.completions.create(model=model, messages=messages)
        last = None
        chunks = await client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in chunks:
            last = chunk
        return last

    async def responses() -> Any:
        if not stream:
            return await client.responses.create(model=model, input=messages)
        last = None
        async for event in await client.responses.create(model=model, input=messages, stream=True):
            last = event
        return last

    return chat if api == "chat_completions" else responses


async def run(where: str, calls: int, streams: int, chunks: int, max_seconds: float) -> list[Row]:
    # The mock answers "Mock answer to: <text>" in one piece per word: 3 + (chunks - 3) words.
    text = " ".join(f"word{i}" for i in range(max(1, chunks - 3)))
    request = ModelRequest(messages=(UserPrompt.of(text),), model="mock-model")
    rows: list[Row] = []
    async with mock_upstream(where) as base_url:
        for api in ("chat_completions", "responses"):
            settings = OpenAISettings(base_url=base_url, api_mode=api, api_key=API_KEY, model="mock-model")
            native = OpenAIModel("bench", settings)
            holder = ClientHolder(settings)
            try:
                for kind, count, stream in (("complete", calls, False), (f"stream {chunks}", streams, True)):
                    paths = {
                        "native": _native(native, request, stream=stream),
                        "openai": _openai(holder.get(), api, "mock-model", text, stream=stream),
                    }
                    for client, call in paths.items():
                        made, cpu_s, wall_s = await measure(call, count, max_seconds)
                        per = 1e6 / max(made, 1)
                        rows.append(Row(where, api, kind, client, made, cpu_s * per, wall_s * per))
            finally:
                await native.aclose()
                await holder.aclose()
    return rows


def report(rows: list[Row]) -> str:
    native = {(r.mock, r.api, r.kind): r for r in rows if r.client == "native"}
    lines = []
    for r in rows:
        base = native[(r.mock, r.api, r.kind)]
        ratio = r.cpu_us / base.cpu_us if base.cpu_us else float("nan")
        lines.append((f"{r.api} {r.kind}", r.mock, r.client, r.calls, r.cpu_us, r.wall_us, ratio))
    headers = ("call", "mock", "client", "calls", "CPU us/call", "wall us/call", "CPU x native")
    return stats.table(headers, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.codec", description=__doc__)
    parser.add_argument("--mock", choices=("loop", "process", "both"), default="loop")
    parser.add_argument("--calls", type=int, default=300, help="whole answers per row (after 20 warm-up)")
    parser.add_argument("--streams", type=int, default=100, help="streams per row (after 20 warm-up)")
    parser.add_argument("--chunks", type=int, default=50, help="text pieces per stream (>= 4)")
    parser.add_argument("--max-seconds", type=float, default=6.0, help="time cap per row")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for where in ("loop", "process") if args.mock == "both" else (args.mock,):
        rows += asyncio.run(run(where, args.calls, args.streams, max(4, args.chunks), args.max_seconds))
    print(report(rows))
    results.write("codec", {"parameters": vars(args), "rows": [asdict(r) for r in rows]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
