"""What may never reach a log line: secrets and prompt text. Two structlog processors, on every line
(ours and the stdlib's: uvicorn, SQLAlchemy, asyncio...).

- ``scrub_secrets`` rewrites credentials that appear in text: a key in a query string (``api_key=``,
  ``access_token=``, ``ticket=``...), an ``Authorization: Bearer`` value, a ``bearer.<key>`` WebSocket
  subprotocol, a password in a URL. Uvicorn's WebSocket handshake lines carry the whole path with its
  query string, for instance.
- ``safe_exceptions`` renders tracebacks with their frames and exception *types* but without exception
  *messages*, which may quote data: a database error's message carries the SQL parameters (the user's
  prompt), a ``ValueError`` may repeat its input. Domain errors keep their message (they never contain
  secrets or prompt text, by contract). ``SWITCHBOARD_LOG_PROMPTS=true`` (debugging only) keeps messages.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

from contracts.errors import DomainError

_SECRET_PATTERNS = (
    (
        re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|token|ticket|secret|password|key)=([^&\s\"'#]+)"),
        r"\1=[redacted]",
    ),
    (re.compile(r"(?i)\b(bearer)([ .])[^\s,\"']+"), r"\1\2[redacted]"),
    (re.compile(r"(?i)\b(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s,\"']+"), r"\1[redacted]"),
    (re.compile(r"(?i)(://[^:/@\s]+:)[^@/\s]+@"), r"\1[redacted]@"),
)
_MAYBE_SECRET = re.compile(r"(?i)=|bearer|x-api-key|@")
"""What every pattern above needs somewhere in the text (``key=``, ``bearer``, ``x-api-key``, ``user:pw@``):
one scan that most log values (paths, ids, names, numbers as text) fail, instead of four substitutions.
Four ``re.sub`` calls on every string value were ~30 us of a ~45 us access-log line."""
WITHHELD = "<message withheld: may contain request data>"


def scrub(text: str) -> str:
    if _MAYBE_SECRET.search(text) is None:
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_secrets(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = scrub(value)
    return event_dict


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return list(reversed(chain))


def safe_traceback(exc: BaseException, *, messages: bool = False) -> str:
    """Frames and exception types of ``exc`` and its causes; messages only for domain errors."""
    parts: list[str] = []
    for index, link in enumerate(_chain(exc)):
        if index:
            parts.append("\nwhich led to:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(link.__traceback__))
        kind = f"{type(link).__module__}.{type(link).__qualname__}"
        shown = messages or isinstance(link, DomainError)
        parts.append(f"{kind}: {scrub(str(link)) if shown else WITHHELD}\n")
    return "".join(parts)


class SafeExceptions:
    """Replaces structlog's ``format_exc_info``: ``exc_info`` becomes a safe ``exception`` string."""

    def __init__(self, *, messages: bool = False) -> None:
        self._messages = messages

    def __call__(
        self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        exc_info = event_dict.pop("exc_info", None)
        if not exc_info:
            return event_dict
        if isinstance(exc_info, BaseException):
            exc: BaseException | None = exc_info
        elif isinstance(exc_info, tuple):
            exc = exc_info[1]
        else:
            exc = sys.exc_info()[1]
        if exc is not None:
            event_dict["exception"] = safe_traceback(exc, messages=self._messages)
        return event_dict
