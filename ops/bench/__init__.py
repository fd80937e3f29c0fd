"""Benchmarks of the real service: ``python -m ops.bench startup|chat|sse|all|edge`` (``just bench <name>``).

Each benchmark starts ``python -m ops serve`` as a subprocess on a free 127.0.0.1 port with a temporary
``SWITCHBOARD_VAR_DIR`` (harness.py), waits for ``/health/ready``, measures, prints a table, writes
``var/bench/<name>.json`` and always stops the service. Numbers, not assertions: docs/benchmarks.md.
``edge`` also starts its references: the fast upstream (upstream.py), nginx (nginx.py) and the minimal
forwarder (forwarder.py), loaded with wrk or Python (load.py) and an SSE client (sse_load.py).
"""
