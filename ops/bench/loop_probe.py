"""An event-loop probe for a service under a benchmark: what its loop does, every 20 ms, seen from outside.

How the 2,000-stream pause was found (docs/benchmarks.md, "Edge"). ``python -m ops.bench edge --sse N
--probe`` starts each service with ``ops/bench/loop_probe_site`` on its ``PYTHONPATH``; that folder's
``sitecustomize`` calls ``install(path)`` when ``BENCH_LOOP_PROBE`` names an output file (and does
nothing otherwise). ``install`` then, from a thread:

- counts the upstream reads (aiohttp's ``ResponseHandler.data_received``: calls and bytes) and the sends to
  clients (uvicorn's ``RequestResponseCycle.send``), by wrapping those two methods once their modules are
  loaded, and takes the service's loop from the first of them;
- every ``period_s``, times a ``call_soon_threadsafe`` round trip through the loop (the loop's lag: how long
  a callback waits for its turn) and records ``[t_s, lag_ms, reads, read_bytes, sends, cpu_s]`` (counters
  cumulative), written as JSON to the output file every 10 samples and at exit.

``summary(rows)`` turns a timeline into the figures the edge bench prints. A measuring tool only: it costs
the service a few microseconds per upstream read and per send.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PERIOD_S = 0.02


class _Probe:
    def __init__(self, out: str, period_s: float) -> None:
        self.out, self.period_s = out, period_s
        self.reads = self.read_bytes = self.sends = 0
        self.loop: Any = None
        self.rows: list[list[float]] = []
        self.lock = threading.Lock()

    def wrap(self) -> bool:
        """Wrap the two counted methods once both modules are loaded (True when done)."""
        client = sys.modules.get("aiohttp.client_proto")
        server = sys.modules.get("uvicorn.protocols.http.httptools_impl")
        if client is None or server is None:
            return False
        probe = self
        received: Callable[..., Any] = client.ResponseHandler.data_received
        send: Callable[..., Any] = server.RequestResponseCycle.send

        def data_received(handler: Any, data: bytes) -> Any:
            if probe.loop is None:
                probe.loop = handler._loop
            probe.reads += 1
            probe.read_bytes += len(data)
            return received(handler, data)

        async def counted_send(cycle: Any, message: Any) -> Any:
            if probe.loop is None:
                import asyncio

                probe.loop = asyncio.get_running_loop()
            probe.sends += 1
            return await send(cycle, message)

        client.ResponseHandler.data_received = data_received
        server.RequestResponseCycle.send = counted_send
        return True

    def run(self) -> None:
        while not self.wrap():
            time.sleep(0.05)
        while self.loop is None:
            time.sleep(0.05)
        start = time.monotonic()
        while True:
            sent, answered = time.monotonic(), threading.Event()
            box: list[float] = []

            def mark(box: list[float] = box, answered: threading.Event = answered) -> None:
                box.append(time.monotonic())
                answered.set()

            try:
                self.loop.call_soon_threadsafe(mark)
            except RuntimeError:  # the loop is closed: the service is ending
                break
            answered.wait(10)
            lag = (box[0] if box else time.monotonic()) - sent
            row = [
                round(sent - start, 3),
                round(lag * 1000, 1),
                self.reads,
                self.read_bytes,
                self.sends,
                round(time.process_time(), 3),
            ]
            with self.lock:
                self.rows.append(row)
                if len(self.rows) % 10 == 0:
                    self.write()
            time.sleep(self.period_s)

    def write(self) -> None:
        tmp = f"{self.out}.tmp"
        with open(tmp, "w") as file:
            json.dump(self.rows, file)
        os.replace(tmp, self.out)


def install(out: str, period_s: float = PERIOD_S) -> None:
    """Start probing this process (from its ``sitecustomize``); the timeline goes to ``out``."""
    probe = _Probe(out, period_s)
    threading.Thread(target=probe.run, name="loop-probe", daemon=True).start()

    def last_write() -> None:
        with probe.lock:
            probe.write()

    atexit.register(last_write)


def summary(rows: list[list[float]]) -> dict[str, float]:
    """Largest loop lag, time spent with a lag above 100 ms, and the longest stretch in which the service
    was busy (sending to clients, or its loop lagging > 20 ms) but read nothing from any upstream: running
    streams got nothing then, whatever the upstream sent."""
    if len(rows) < 2:
        return {}
    slow = longest = 0.0
    since: float | None = None
    for before, now in itertools.pairwise(rows):
        if now[1] > 100:
            slow += now[0] - before[0]
        busy = now[4] > before[4] or now[1] > 20
        if now[2] == before[2] and busy:
            since = before[0] if since is None else since
            longest = max(longest, now[0] - since)
        elif now[2] != before[2]:
            since = None
    return {
        "max_lag_ms": max(row[1] for row in rows),
        "lag_over_100ms_s": round(slow, 2),
        "longest_busy_read_pause_s": round(longest, 2),
    }
