"""How a finished turn or model call is reported: one ``CallEnded`` record, handed once to one ``CallSink``
that logs it and meters it (backend/services/call_ledger.py is the only place that emits it).

The sink also hears the few things that are not a finished call: a limit refusing a request, a stream
opening and closing. ``MetricsExposition`` renders what a metering sink collected (``GET /metrics``).
"""

from __future__ import annotations

from typing import Literal, Protocol

from contracts.base import Struct
from contracts.models import Attempt
from contracts.usage import Usage

Outcome = Literal["completed", "failed", "cancelled", "blocked"]
"""How a call ended: answered; the provider (or an adapter) failed; the client went away (or the process
drained); a guardrail blocked the answer."""


class CallEnded(Struct, frozen=True, kw_only=True):
    """One finished agent turn (``/v1/chat``, realtime) or stateless model call (protocol surfaces).

    ``surface`` is the API that was called (``chat``, ``openai.chat``, ``openai.responses``,
    ``anthropic.messages``, ``openai.embeddings``, ``realtime``); ``route`` the route it resolved to;
    ``deployment`` the provider instance that answered (or was tried last); ``model`` the upstream model.
    ``attempts`` are the failed model calls on the way (retries and fallbacks). Times are seconds;
    ``ttft_s`` is the time to the first streamed content (None when nothing was streamed).
    ``cost_usd`` is None when the model has no known price.
    """

    outcome: Outcome
    surface: str
    tenant_id: str
    key_id: str
    agent: str
    route: str
    deployment: str
    model: str
    streamed: bool = False
    attempts: tuple[Attempt, ...] = ()
    latency_s: float = 0.0
    ttft_s: float | None = None
    usage: Usage = Usage()
    cost_usd: float | None = None
    conversation_id: str = ""
    error: str = ""
    """Why it did not complete: the failure class (``timeout``, ``upstream_5xx``...) or error code."""


class CallSink(Protocol):
    """Where call outcomes go: logs and metrics. Every method is synchronous, cheap and never raises."""

    def call_ended(self, call: CallEnded) -> None:
        """A turn or call ended (exactly once per turn or call)."""
        ...

    def refused(self, limit: str) -> None:
        """A limit refused a request (``requests_per_minute``, ``tokens_per_minute``,
        ``concurrent_streams``)."""
        ...

    def stream_opened(self, surface: str) -> None:
        """A streamed response started; ``stream_closed`` follows however it ends."""
        ...

    def stream_closed(self, surface: str) -> None: ...


class MetricsExposition(Protocol):
    """The collected metrics in the Prometheus text format (``GET /metrics``)."""

    def render(self) -> tuple[bytes, str]:
        """The exposition and its content type."""
        ...
