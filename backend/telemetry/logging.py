"""structlog configuration: JSON lines (pretty on a TTY), request ids from contextvars, stdlib routed too.

Every line, ours and the stdlib's, passes ``backend/telemetry/redaction.py``: no secret in any text, no
exception message (which may quote request data) in tracebacks.
"""

from __future__ import annotations

import logging
import sys

import msgspec
import structlog

from backend.settings import LogSettings
from backend.telemetry.redaction import SafeExceptions, scrub_secrets

_NOISY = (
    "httpx",
    "httpx2",
    "openai",
    "agents",
    "aiosqlite",
    "sqlalchemy.engine",
    "uvicorn.access",
    "alembic",
)


_DATA_AT_DEBUG = ("svcs", "websockets", "uvicorn.error", "httpcore", "hpack", "aiosqlite", "asyncpg")
"""Libraries whose DEBUG lines carry data: svcs logs every registered value (settings, with keys), the
websockets library (also through uvicorn.error) every frame: prompts. They never log below INFO, whatever ``SWITCHBOARD_LOG_LEVEL``."""


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at write time (loggers are cached on first use). Each log line
    arrives as one ``write`` of the line and its newline (``WriteLoggerFactory``; ``print`` writes them
    separately): with several workers sharing one unbuffered stderr (``PYTHONUNBUFFERED``, as in
    containers), two separate writes let another worker's line land between a line and its newline."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(settings: LogSettings) -> None:
    """Configure structlog and the stdlib root logger once per process."""
    pretty = settings.format == "console" or (settings.format == "auto" and sys.stderr.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    encoder = msgspec.json.Encoder()
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer()
        if pretty
        else structlog.processors.JSONRenderer(serializer=lambda obj, **_: encoder.encode(obj).decode())
    )
    # never below DEBUG: uvicorn's TRACE level logs whole ASGI messages, bodies included
    level = max(logging.DEBUG, logging.getLevelNamesMapping().get(settings.level.upper(), logging.INFO))
    safety: list[structlog.types.Processor] = [SafeExceptions(messages=settings.prompts), scrub_secrets]
    structlog.configure(
        processors=[*shared, *safety, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,  # re-configurable in one process (tests); costs ~1 µs a call
    )
    handler = logging.StreamHandler(_CurrentStderr())  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *safety, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _DATA_AT_DEBUG:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
