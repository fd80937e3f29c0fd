"""The long-lived heap, settled once before serving.

After start-up some 280k objects live for the whole life of the process (modules, classes, the built
services). CPython's full collections walk all of them: 240-330 ms each on our machines, the p99 of every
request that happens to trigger one, and most SSE stalls. ``gc.freeze()`` moves them to a permanent
generation the collector no longer scans; a larger first-generation threshold makes young collections
rarer on the request path (each request allocates thousands of short-lived objects). Both measured in
docs/benchmarks.md.
"""

from __future__ import annotations

import gc

import structlog

log = structlog.get_logger("switchboard.runtime")


def settle_heap(*, freeze: bool, gen0_threshold: int) -> None:
    """Collect once, freeze what survives, and set the young-generation threshold (0: keep Python's)."""
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
    if freeze:
        gc.collect()
        gc.freeze()
    log.debug("runtime.heap_settled", frozen=gc.get_freeze_count(), threshold=gc.get_threshold())
