"""Per-request knobs: faults, latency and token pacing, read from headers or the model name.

Faults: header ``x-mock-fault`` or a model named ``fault-<fault>`` (the header wins):

- ``429``: answer 429 with ``Retry-After`` (``x-mock-retry-after`` header, default ``1`` second).
- ``500``: answer 500.
- ``timeout``: wait ``MockConfig.timeout_sleep_s`` (longer than any sane client timeout) before answering.
- ``drop``: stream ``MockConfig.drop_after`` content pieces, then drop the connection (non-streamed:
  drop before answering).
- ``malformed``: stream two content pieces then a chunk that is not JSON (non-streamed: a body that is
  not JSON).

``<fault>-once`` (e.g. ``429-once``) applies the fault only to the first request carrying a given
``x-mock-fault-key`` (default: the path), so a client's retry succeeds.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ops.mock_upstream.recording import Recorder

FAULTS = frozenset({"429", "500", "timeout", "drop", "malformed"})


class MockConfig(msgspec.Struct, kw_only=True):
    """Server-wide defaults (CLI flags); headers override latency and pacing per request."""

    latency_ms: float = 0.0
    token_delay_ms: float = 0.0
    timeout_sleep_s: float = 120.0
    drop_after: int = 2


def fault_for(headers: Any, body: dict[str, Any], path: str, recorder: Recorder) -> str | None:
    """The fault to apply to this request, or None (also None for a used ``-once`` key)."""
    raw: str | None = headers.get("x-mock-fault")
    if not raw:
        model = str(body.get("model", ""))
        raw = model[len("fault-") :] if model.startswith("fault-") else None
    if not raw:
        return None
    fault, once = (raw[: -len("-once")], True) if raw.endswith("-once") else (raw, False)
    if fault not in FAULTS:
        return None
    if once and not recorder.first_use(f"{fault}:{headers.get('x-mock-fault-key') or path}"):
        return None
    return fault


def millis(headers: Any, name: str, default: float) -> float:
    """A per-request delay in seconds from header ``name`` (milliseconds), else ``default`` ms."""
    value = headers.get(name)
    try:
        return max(0.0, float(value if value is not None else default)) / 1000.0
    except ValueError:
        return default / 1000.0
