"""Each log line reaches stderr as one write, newline included: worker processes share one stderr, and
with ``PYTHONUNBUFFERED`` (containers) a line written in two parts can be split by another worker's."""

from __future__ import annotations

import logging
import sys

import msgspec
import pytest
import structlog

from backend.settings import LogSettings
from backend.telemetry.logging import configure_logging


class Recorder:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_every_log_line_is_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    monkeypatch.setattr(sys, "stderr", recorder)
    configure_logging(LogSettings(level="INFO", format="json"))
    structlog.get_logger("test").info("ours", n=1)
    logging.getLogger("uvicorn.error").warning("stdlib's")
    assert len(recorder.writes) == 2
    for text in recorder.writes:
        assert text.endswith("\n") and text.count("\n") == 1
        assert msgspec.json.decode(text)["event"] in ("ours", "stdlib's")
