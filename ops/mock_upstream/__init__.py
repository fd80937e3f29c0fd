"""A deterministic OpenAI-compatible upstream for tests, demos and benchmarks (no SDK imports: raw JSON).

Start it with ``python -m ops.mock_upstream --port N`` or in-process with ``running_mock``; see
``server.py`` for routes, ``logic.py`` for what it answers and ``faults.py`` for per-request faults.
"""

from __future__ import annotations

from ops.mock_upstream.faults import MockConfig
from ops.mock_upstream.recording import RequestRecord
from ops.mock_upstream.server import MockUpstream, running_mock

__all__ = ["MockConfig", "MockUpstream", "RequestRecord", "running_mock"]
