"""Loaded by Python at start-up when this folder is on ``PYTHONPATH`` (``python -m ops.bench edge --probe``
puts it there for the services it starts): probes the event loop when ``BENCH_LOOP_PROBE`` names an
output file (ops/bench/loop_probe.py), and does nothing otherwise."""

import os

if os.environ.get("BENCH_LOOP_PROBE"):
    from ops.bench.loop_probe import install

    install(os.environ["BENCH_LOOP_PROBE"])
