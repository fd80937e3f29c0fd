"""A deterministic OpenAI-compatible and Anthropic-compatible upstream for tests, demos and benchmarks (no
SDK imports: raw JSON). OpenAI clients use ``base_url`` (``.../v1``), Anthropic ones ``url`` (no path).

Start it with ``python -m ops.mock_upstream --port N`` or in-process with ``running_mock``; see
``server.py`` for routes, ``logic.py`` for what it answers, ``wire.py`` for the shapes (a responses request
with ``reasoning`` gets a ``reasoning`` output item before its answer) and ``faults.py`` for per-request
faults (429, 503, 529, 500, 401, 400-context, status, timeout, stall, drop, drop-before, malformed,
truncate, stream-error).
"""

from __future__ import annotations

from ops.mock_upstream.faults import MockConfig
from ops.mock_upstream.recording import RequestRecord
from ops.mock_upstream.server import MockUpstream, running_mock

__all__ = ["MockConfig", "MockUpstream", "RequestRecord", "running_mock"]
