"""The collector is off during start-up (``switchboard serve``, each worker) and ``settle_heap`` turns it on."""

from __future__ import annotations

import gc

import pytest

from backend.runtime.heap import settle_heap


@pytest.mark.parametrize("freeze", [True, False])
def test_settling_the_heap_turns_the_collector_back_on(freeze: bool) -> None:
    threshold = gc.get_threshold()
    gc.disable()
    try:
        settle_heap(freeze=freeze, gen0_threshold=0)
        assert gc.isenabled()
        assert gc.get_threshold() == threshold
    finally:
        gc.unfreeze()
        gc.enable()
