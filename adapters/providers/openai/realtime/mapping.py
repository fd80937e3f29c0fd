"""Pure translations between neutral realtime events and OpenAI Realtime API events (GA and beta names)."""

from __future__ import annotations

import re
from typing import Any

from contracts.errors import ErrorInfo
from contracts.realtime import (
    InputAudio,
    InputAudioCommit,
    InputText,
    OutputAudioDelta,
    OutputTextDelta,
    RealtimeClientEvent,
    RealtimeError,
    RealtimeServerEvent,
    ResponseCancel,
)
from contracts.usage import Usage

TEXT_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.text.delta",
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
    }
)
AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})
_SAFE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def session_update(instructions: str) -> dict[str, Any]:
    """The first client event: instructions, text output, and turns ended explicitly by the client."""
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "instructions": instructions,
            "output_modalities": ["text"],
            "audio": {"input": {"turn_detection": None}},
        },
    }


def client_to_upstream(event: RealtimeClientEvent) -> list[dict[str, Any]]:
    """The upstream events that carry out one neutral client event."""
    if isinstance(event, InputText):
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": event.text}]}
        return [{"type": "conversation.item.create", "item": item}, {"type": "response.create"}]
    if isinstance(event, InputAudio):
        return [{"type": "input_audio_buffer.append", "audio": event.audio}]
    if isinstance(event, InputAudioCommit):
        return [{"type": "input_audio_buffer.commit"}, {"type": "response.create"}]
    if isinstance(event, ResponseCancel):
        return [{"type": "response.cancel"}]
    return []


def usage_of(response: dict[str, Any]) -> Usage:
    """A ``response.done`` response's usage as neutral ``Usage``."""
    usage = response.get("usage") or {}
    details = usage.get("input_token_details") or {}
    input_tokens = int(usage.get("input_tokens") or 0)
    output_tokens = int(usage.get("output_tokens") or 0)
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=int(usage.get("total_tokens") or input_tokens + output_tokens),
        cached_tokens=int(details.get("cached_tokens") or 0),
    )


def error_of(event: dict[str, Any]) -> RealtimeError:
    """An upstream ``error`` event as neutral ``RealtimeError`` (its code/type only: no upstream text)."""
    error = event.get("error") or {}
    code = next(
        (v for v in (error.get("code"), error.get("type")) if isinstance(v, str) and _SAFE.match(v)), ""
    )
    detail = f"realtime upstream error ({code})" if code else "realtime upstream error"
    return RealtimeError(error=ErrorInfo(code="provider_unavailable", detail=detail))


def upstream_to_neutral(event: dict[str, Any]) -> RealtimeServerEvent | None:
    """One upstream event as a neutral delta or error (None for events clients need not see).

    ``session.created`` and ``response.done`` need channel state and are handled by the channel.
    """
    kind = event.get("type")
    if kind in TEXT_DELTAS:
        return OutputTextDelta(delta=str(event.get("delta", "")))
    if kind in AUDIO_DELTAS:
        return OutputAudioDelta(audio=str(event.get("delta", "")))
    if kind == "error":
        return error_of(event)
    return None
