"""The long-lived heap, settled once before serving.

After start-up some 280k objects live for the whole life of the process (modules, classes, the built
services). CPython's full collections walk all of them: 240-330 ms each on our machines, the p99 of every
request that happens to trigger one, and most SSE stalls. ``gc.freeze()`` moves them to a permanent
generation the collector no longer scans; a larger first-generation threshold makes young collections
rarer on the request path (each request allocates thousands of short-lived objects). Both measured in
docs/benchmarks.md.

Start-up itself runs with the collector off (``gc.disable()`` first thing in ``switchboard serve`` and in
each uvicorn worker, ops/): importing and building allocate those objects in bulk, and the collections
that triggered along the way (several of them full) walked an ever larger heap to find almost nothing:
~0.2 s of every start. ``settle_heap`` turns the collector back on (after its one collection); CPython's
docs recommend the same pattern around ``gc.freeze()``.
"""

from __future__ import annotations

import gc

import structlog

log = structlog.get_logger("switchboard.runtime")


def settle_heap(*, freeze: bool, gen0_threshold: int) -> None:
    """Collect once, freeze what survives, set the young-generation threshold (0: keep Python's), and turn
    the collector on (it is off during start-up)."""
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
    if freeze:
        gc.collect()
        gc.freeze()
    gc.enable()
    log.debug("runtime.heap_settled", frozen=gc.get_freeze_count(), threshold=gc.get_threshold())
