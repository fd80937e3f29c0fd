"""The pair of logs a ``StreamLog`` conformance test gets (see ``conftest.logs``)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.ports import StreamLog


@dataclass(slots=True)
class StreamLogs:
    """The instance that runs a stream and the one a client resumes it on."""

    name: str
    writer: StreamLog
    reader: StreamLog
