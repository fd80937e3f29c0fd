"""Upstream failures -> ``ProviderUnavailable`` / ``ProviderRejected``, classified by ``FailureKind``.

Three sources: an HTTP error status (with its error body and headers), an error object reported inside
a body or a stream (an error code), and a transport error (aiohttp exceptions, timeouts, undecodable
bytes). The table (``contracts.models.FailureKind`` says what routers do with each class):

==========================================  ====================  =========  ==========================
upstream                                    failure               retryable  raised as
==========================================  ====================  =========  ==========================
429                                         rate_limited          yes        ProviderUnavailable
429 ``insufficient_quota``                  auth (no quota left)  no         ProviderUnavailable
503, 529                                    overloaded            yes        ProviderUnavailable
500, 502, 504, other 5xx, 409               server_error          yes        ProviderUnavailable
408, read/connect timeout                   timeout               yes        ProviderUnavailable
silence between stream chunks               stalled               yes        ProviderUnavailable
connection refused, DNS, TLS                refused               yes        ProviderUnavailable
connection dropped/reset, cut payload       dropped               yes        ProviderUnavailable
undecodable body or chunk                   malformed             yes        ProviderUnavailable
401, 403                                    auth                  no         ProviderUnavailable
404                                         unsupported           no         ProviderUnavailable
400/422 context code or hint, 413           context_too_long      no         ProviderRejected
400/422 content-policy code                 content_filtered      no         ProviderRejected
400, 422, other 4xx                         bad_request           no         ProviderRejected
==========================================  ====================  =========  ==========================

Retry-After (``retry-after-ms``, ``retry-after`` in seconds or as an HTTP date) is read on 429, 503 and
529. Details are fixed phrases plus the status and the upstream's error code (or type) when it is a safe
token: never the upstream's message (it may quote the prompt or a masked key), never a secret. The message
is only *read*, to recognise a context-window error from servers that send no code (vLLM, Anthropic).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from time import time
from typing import Any, Final

import aiohttp
import msgspec

from adapters.providers.http.sse import SSEError
from contracts.errors import ProviderRejected, ProviderUnavailable
from contracts.models import FailureKind

RETRYABLE: Final = frozenset(
    {"rate_limited", "overloaded", "server_error", "timeout", "refused", "dropped", "stalled", "malformed"}
)
REJECTED: Final = frozenset({"bad_request", "context_too_long", "content_filtered"})
PHRASES: Final[dict[str, str]] = {
    "rate_limited": "upstream is rate limiting",
    "overloaded": "upstream is overloaded",
    "server_error": "upstream had a server error",
    "timeout": "upstream did not answer in time",
    "stalled": "upstream stream stalled",
    "refused": "could not connect to the upstream",
    "dropped": "connection to the upstream was lost before the answer was complete",
    "malformed": "upstream sent a malformed answer",
    "auth": "upstream refused the credentials or the account has no quota",
    "unsupported": "upstream does not serve this model or route",
    "bad_request": "upstream rejected the request",
    "context_too_long": "the request does not fit the model's context window",
    "content_filtered": "upstream's content policy refused the request",
}
CODE_KINDS: Final[dict[str, FailureKind]] = {
    "context_length_exceeded": "context_too_long",
    "string_above_max_length": "context_too_long",
    "request_too_large": "context_too_long",
    "content_filter": "content_filtered",
    "content_policy_violation": "content_filtered",
    "image_content_policy_violation": "content_filtered",
    "invalid_prompt": "content_filtered",
    "rate_limit_exceeded": "rate_limited",
    "rate_limit_error": "rate_limited",
    "insufficient_quota": "auth",
    "server_error": "server_error",
    "internal_error": "server_error",
    "api_error": "server_error",
    "server_is_overloaded": "overloaded",
    "overloaded_error": "overloaded",
    "overloaded": "overloaded",
    "invalid_api_key": "auth",
    "authentication_error": "auth",
    "permission_error": "auth",
    "model_not_found": "unsupported",
    "not_found_error": "unsupported",
    "invalid_request_error": "bad_request",
    "billing_error": "auth",
    "timeout_error": "timeout",
    "vector_store_timeout": "timeout",
}
"""Error codes (and Anthropic-style error types) with a class of their own. Anthropic reports a failure
inside a stream as an ``error`` event whose ``error.type`` is one of these (``overloaded_error``,
``api_error``, ``rate_limit_error``, ``invalid_request_error``...)."""

_CONTEXT_HINTS = ("maximum context length", "context length", "context window", "prompt is too long")
_SAFE_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
_KEYLIKE = re.compile(r"^(sk|pk|rk|key)[-_]", re.IGNORECASE)
_decode_any = msgspec.json.Decoder(Any).decode


def failure(
    provider: str,
    kind: FailureKind,
    *,
    status: int | None = None,
    code: str | None = None,
    retry_after: float | None = None,
    phrase: str | None = None,
) -> ProviderUnavailable:
    """The domain error for one classified failure (``ProviderRejected`` for the caller's own faults)."""
    parts = [f"HTTP {status}"] if status is not None else []
    if code:
        parts.append(code)
    detail = phrase or PHRASES[kind]
    if parts:
        detail = f"{detail} ({', '.join(parts)})"
    error_type = ProviderRejected if kind in REJECTED else ProviderUnavailable
    return error_type(
        provider,
        detail,
        retryable=kind in RETRYABLE,
        upstream_status=status,
        retry_after=retry_after,
        failure=kind,
    )


def safe_token(value: object) -> str | None:
    """``value`` if it is a short identifier-like string that cannot carry prose or a key, else None."""
    if isinstance(value, str) and _SAFE_TOKEN.match(value) and not _KEYLIKE.match(value):
        return value
    return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date), as seconds >= 0."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time())
            except (TypeError, ValueError, IndexError):
                continue
    return None


def error_fields(body: bytes) -> tuple[str | None, str | None, bool]:
    """``(code, type, says_context_too_long)`` of an error body (OpenAI ``{"error": {...}}``, Anthropic
    ``{"type": "error", "error": {...}}`` or a flat ``{"code", "type", "message"}``); safe tokens only."""
    try:
        document = _decode_any(body)
    except msgspec.DecodeError:
        return None, None, False
    if not isinstance(document, dict):
        return None, None, False
    error = document.get("error")
    fields = error if isinstance(error, dict) else document
    message = fields.get("message")
    hint = isinstance(message, str) and any(h in message.lower() for h in _CONTEXT_HINTS)
    return safe_token(fields.get("code")), safe_token(fields.get("type")), hint


def from_status(provider: str, status: int, headers: Mapping[str, str], body: bytes) -> ProviderUnavailable:
    """An HTTP error answer, classified by its status, refined by its error code."""
    code, error_type, context_hint = error_fields(body)
    coded = CODE_KINDS.get(code or "") or CODE_KINDS.get(error_type or "")
    kind: FailureKind
    if status == 429:
        kind = "auth" if coded == "auth" else "rate_limited"
    elif status in (503, 529):
        kind = "overloaded"
    elif status == 408:
        kind = "timeout"
    elif status in (401, 403):
        kind = "auth"
    elif status == 404:
        kind = "unsupported"
    elif status == 413:
        kind = "context_too_long"
    elif status >= 500 or status == 409:
        kind = "overloaded" if coded == "overloaded" else "server_error"
    elif status >= 400:
        if coded in ("context_too_long", "content_filtered"):
            kind = coded
        else:
            kind = "context_too_long" if context_hint else "bad_request"
    else:
        kind = "malformed"
    after = retry_after_seconds(headers) if kind in ("rate_limited", "overloaded") else None
    return failure(provider, kind, status=status, code=code or error_type, retry_after=after)


def from_error_code(
    provider: str, code: object, *, default: FailureKind = "server_error"
) -> ProviderUnavailable:
    """An error object inside a body or a stream (no HTTP status): classified by its code, else
    ``default``. A numeric code is taken as an HTTP status (some servers put one there)."""
    if isinstance(code, int) and 400 <= code < 600:
        return from_status(provider, code, {}, b"")
    token = safe_token(code)
    return failure(provider, CODE_KINDS.get(token or "", default), code=token)


def from_exception(provider: str, exc: BaseException, *, streaming: bool = False) -> ProviderUnavailable:
    """A transport or decoding error; ``streaming``: it happened while reading a stream's body (a read
    timeout there is a stall)."""
    if isinstance(exc, ProviderUnavailable):
        return exc
    kind: FailureKind
    phrase: str | None = None
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        kind, phrase = "refused", "could not resolve the upstream's host name"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = "refused"
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind, phrase = "timeout", "connecting to the upstream timed out"
    elif isinstance(exc, aiohttp.SocketTimeoutError):
        kind = "stalled" if streaming else "timeout"
    elif isinstance(exc, TimeoutError):
        kind = "timeout"
    elif isinstance(exc, _MALFORMED):
        kind = "malformed"
    elif isinstance(exc, aiohttp.ClientError | ConnectionError):
        kind = "dropped"
    else:
        raise TypeError(f"not an upstream failure: {type(exc).__name__}") from exc
    return failure(provider, kind, phrase=phrase)


_MALFORMED = (
    aiohttp.ClientResponseError,
    msgspec.DecodeError,
    msgspec.ValidationError,
    SSEError,
    UnicodeDecodeError,
)


def dropped(provider: str) -> ProviderUnavailable:
    """A stream that ended without its terminal event: never a silent success."""
    return failure(provider, "dropped", phrase="upstream stream ended before its final event")


TRANSPORT_ERRORS: Final = (
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
    msgspec.DecodeError,
    msgspec.ValidationError,
    SSEError,
    UnicodeDecodeError,
)
"""What ``from_exception`` classifies (catch these around an upstream call)."""
