"""Upstream failures -> ``ProviderUnavailable``, and which of them are worth a retry.

Details are built from fixed phrases, the HTTP status and the upstream's error ``code``/``type`` only:
never the upstream message (it may quote the prompt or a masked key) and never the API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

import openai

from contracts.errors import ProviderUnavailable

_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_KEYLIKE = re.compile(r"(sk-[A-Za-z0-9_\-*]{4,}|Bearer\s+\S+)")
_SDK_FAILURES = {
    "MaxTurnsExceeded": "the agent exceeded its max_turns without a final answer",
    "ModelBehaviorError": "the model produced an answer the agent could not use",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified upstream failure."""

    detail: str
    retryable: bool
    status: int | None = None
    retry_after_s: float | None = None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def retry_after_seconds(headers: object) -> float | None:
    """``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date) from response headers."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = get(name)
        if not value:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time())
            except (TypeError, ValueError):
                continue
    return None


def _code_of(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body.get("error", body), dict) else body
    for key in ("code", "type"):
        value = error.get(key) if isinstance(error, dict) else None
        if isinstance(value, str) and _SAFE_TOKEN.match(value):
            return f" ({value})"
    return ""


def classify(exc: BaseException) -> Failure:
    """What went wrong, whether a retry may help, and any ``Retry-After``."""
    for cause in _chain(exc):
        if isinstance(cause, openai.APIStatusError):
            status = cause.status_code
            retryable = status in (408, 409, 429) or status >= 500
            after = retry_after_seconds(cause.response.headers) if status in (429, 503) else None
            return Failure(f"upstream answered HTTP {status}{_code_of(cause)}", retryable, status, after)
        if isinstance(cause, openai.APITimeoutError):
            return Failure("upstream request timed out", True)
        if isinstance(cause, openai.APIConnectionError):
            return Failure("connection to the upstream failed or was lost", True)
        if isinstance(cause, json.JSONDecodeError):
            return Failure("upstream sent a malformed response", False)
        if isinstance(cause, openai.APIError):
            return Failure("upstream reported an error", False)
        if type(cause).__name__ in _SDK_FAILURES:
            return Failure(_SDK_FAILURES[type(cause).__name__], False)
    return Failure(f"upstream call failed ({type(exc).__name__})", False)


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and anything key-like replaced by ``***``."""
    if secret:
        text = text.replace(secret, "***")
    return _KEYLIKE.sub("***", text)


def to_provider_error(provider: str, exc: BaseException, *, secret: str | None) -> ProviderUnavailable:
    """The domain error for an upstream failure (``ProviderUnavailable`` passes through)."""
    if isinstance(exc, ProviderUnavailable):
        return exc
    failure = classify(exc)
    return ProviderUnavailable(
        provider,
        redact(failure.detail, secret),
        retryable=failure.retryable,
        upstream_status=failure.status,
        retry_after=failure.retry_after_s,
    )
