"""Per-request knobs: faults, latency and token pacing, read from headers or the model name.

Every generation route applies them (``/v1/chat/completions``, ``/v1/responses``, ``/v1/messages``); on
``/v1/messages`` each error comes in Anthropic's shape (``{"type": "error", "error": {"type", "message"}}``,
see ``generation._anthropic_status_fault``) and the ``stream-error`` fault is an ``error`` event.

Faults: header ``x-mock-fault`` or a model named ``fault-<fault>`` (the header wins). "Pieces" are the
streamed content pieces (text or tool-call argument deltas); ``N`` below is header ``x-mock-fault-after``
when sent, else ``MockConfig.drop_after`` (default 2).

- ``429``: answer 429 (``rate_limit_exceeded``) with ``Retry-After`` (``x-mock-retry-after`` header,
  default ``1`` second).
- ``503``: answer 503 (``server_is_overloaded``) with ``Retry-After`` (same header and default).
- ``529``: answer 529 (Anthropic's ``overloaded_error``; OpenAI shape: ``server_is_overloaded``) with
  ``Retry-After`` likewise.
- ``500``: answer 500.
- ``401``: answer 401 (``invalid_api_key``); its message quotes the bearer token received, verbatim, so a
  test can prove a client never echoes upstream text (or the key).
- ``400-context``: answer 400 with OpenAI's ``context_length_exceeded`` error body.
- ``status``: answer the status in header ``x-mock-status`` (default 400) with an OpenAI error body whose
  ``code`` is header ``x-mock-error-code`` (default none) and ``type`` header ``x-mock-error-type``
  (default ``invalid_request_error``).
- ``timeout``: wait ``MockConfig.timeout_sleep_s`` (longer than any sane client timeout) before answering.
- ``stall``: streamed: send N pieces, then go silent for ``x-mock-stall-ms`` (default
  ``MockConfig.stall_s``), then finish normally. Non-streamed: send the status, headers and half the
  body, go silent as long, then send the rest.
- ``drop``: stream N pieces, then drop the connection (non-streamed: drop before answering).
  ``x-mock-fault-after: 0`` drops after the stream's preamble, before the first piece.
- ``drop-before``: drop the connection before answering anything (no status line), streamed or not.
- ``truncate``: stream N pieces, then end the body in good order without the rest (no finish chunk, no
  ``[DONE]``, no ``response.completed``). Non-streamed: the first half of the JSON body, properly ended.
- ``malformed``: stream 2 pieces (or N when ``x-mock-fault-after`` is sent) then a chunk that is not
  JSON (non-streamed: a body that is not JSON).
- ``stream-error``: the upstream reports a failure with the error code in ``x-mock-error-code`` (default
  ``server_error``). Streamed: after N pieces, chat completions send an ``{"error": {...}}`` chunk then
  ``[DONE]``; responses send ``response.failed`` (or an ``error`` event when ``x-mock-error-event:
  error``). Non-streamed: 200 with chat completions' ``{"error": {...}}`` body (as some proxies answer)
  or a ``failed`` response carrying the code.

``<fault>-once`` (e.g. ``429-once``) applies the fault only to the first request carrying a given
``x-mock-fault-key`` (default: the path), so a client's retry succeeds.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ops.mock_upstream.recording import Recorder

FAULTS = frozenset(
    {
        "429",
        "503",
        "529",
        "500",
        "401",
        "400-context",
        "status",
        "timeout",
        "stall",
        "drop",
        "drop-before",
        "malformed",
        "truncate",
        "stream-error",
    }
)


class MockConfig(msgspec.Struct, kw_only=True):
    """Server-wide defaults (CLI flags); headers override latency, pacing and fault timing per request."""

    latency_ms: float = 0.0
    token_delay_ms: float = 0.0
    timeout_sleep_s: float = 120.0
    drop_after: int = 2
    stall_s: float = 30.0
    outage: str | None = None
    """A fault applied to every generation request that names none itself (a test sets it, then clears it:
    the upstream goes down and comes back)."""


def fault_for(
    headers: Any, body: dict[str, Any], path: str, recorder: Recorder, outage: str | None = None
) -> str | None:
    """The fault to apply to this request, or None (also None for a used ``-once`` key)."""
    raw: str | None = headers.get("x-mock-fault")
    if not raw:
        model = str(body.get("model", ""))
        raw = model[len("fault-") :] if model.startswith("fault-") else outage
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


def count(headers: Any, name: str, default: int) -> int:
    """A per-request non-negative integer from header ``name``, else ``default``."""
    try:
        return max(0, int(headers.get(name, default)))
    except ValueError:
        return default
