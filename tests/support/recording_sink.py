"""A ``CallSink`` that keeps what it hears, for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.telemetry import CallEnded


@dataclass
class RecordingSink:
    calls: list[CallEnded] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def call_ended(self, call: CallEnded) -> None:
        self.calls.append(call)

    def refused(self, limit: str) -> None:
        self.refusals.append(limit)

    def stream_opened(self, surface: str) -> None:
        self.opened.append(surface)

    def stream_closed(self, surface: str) -> None:
        self.closed.append(surface)
