"""Realtime channel events (``WS /v1/realtime``), tagged on ``type``. Text first; audio passes through as
base64 so the service never decodes it."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Inbound, Struct
from contracts.errors import ErrorInfo
from contracts.usage import Usage

# -- client -> server -------------------------------------------------------------------------------------


class InputText(Inbound, frozen=True, kw_only=True, tag="input.text"):
    """Send a user text; the provider answers with deltas and one ``turn.completed``."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]


class InputAudio(Inbound, frozen=True, kw_only=True, tag="input.audio"):
    """Append base64 audio to the provider's input buffer (providers without audio reject it)."""

    audio: str


class InputAudioCommit(Inbound, frozen=True, kw_only=True, tag="input.audio.commit"):
    """End of the user's spoken turn."""


class ResponseCancel(Inbound, frozen=True, kw_only=True, tag="response.cancel"):
    """Stop the answer being produced."""


RealtimeClientEvent = InputText | InputAudio | InputAudioCommit | ResponseCancel

# -- server -> client -------------------------------------------------------------------------------------


class SessionStarted(Struct, frozen=True, kw_only=True, tag="session.started"):
    """``conversation_id``: where the session's turns are stored (set by the service, not the provider)."""

    session_id: str
    provider: str
    model: str
    offline: bool = False
    conversation_id: str | None = None


class OutputTextDelta(Struct, frozen=True, kw_only=True, tag="output.text.delta"):
    delta: str


class OutputAudioDelta(Struct, frozen=True, kw_only=True, tag="output.audio.delta"):
    audio: str


class TurnCompleted(Struct, frozen=True, kw_only=True, tag="turn.completed"):
    text: str
    usage: Usage = Usage()


class RealtimeError(Struct, frozen=True, kw_only=True, tag="error"):
    error: ErrorInfo


class SessionClosed(Struct, frozen=True, kw_only=True, tag="session.closed"):
    reason: str


RealtimeServerEvent = (
    SessionStarted | OutputTextDelta | OutputAudioDelta | TurnCompleted | RealtimeError | SessionClosed
)


class RealtimeSessionRequest(Struct, frozen=True, kw_only=True):
    """What a channel is opened for."""

    tenant_id: str
    instructions: str
    model: str | None = None
