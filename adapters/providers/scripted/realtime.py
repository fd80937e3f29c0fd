"""Scripted realtime: a text-only ``RealtimeChannel`` answering with the scripted provider's logic.

- ``open`` emits ``SessionStarted`` (``session_id`` ``scripted-rt-<n>``, ``offline=True``).
- ``InputText`` is answered with ``OutputTextDelta`` pieces (split like the runtime's tokens, paced by
  ``token_delay_ms``) then one ``TurnCompleted``: ``You said: <text>``, or the recall answer for
  ``what did i say`` (over this session's earlier texts). No tools. Texts sent while an answer is being
  produced are answered in order, one after the other.
- ``InputAudio`` / ``InputAudioCommit`` get a ``RealtimeError`` with code ``unsupported``.
- ``ResponseCancel`` stops the answer in progress; it then ends with a ``TurnCompleted`` holding the part
  produced so far. With no answer in progress it does nothing.
- ``close`` stops any answer, emits ``SessionClosed(reason="closed by client")``; ``events`` then ends.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

from adapters.providers.scripted.script import direct_answer, tokens, word_count
from adapters.providers.scripted.settings import ScriptedSettings
from contracts.agents import ProviderDescriptor
from contracts.errors import ErrorInfo, InvalidRequest
from contracts.realtime import (
    InputAudio,
    InputAudioCommit,
    InputText,
    OutputTextDelta,
    RealtimeClientEvent,
    RealtimeError,
    RealtimeServerEvent,
    RealtimeSessionRequest,
    ResponseCancel,
    SessionClosed,
    SessionStarted,
    TurnCompleted,
)
from contracts.usage import Usage


class ScriptedRealtime:
    """Opens scripted realtime channels. Implements ``RealtimeChannelFactory``."""

    def __init__(self, descriptor: ProviderDescriptor, settings: ScriptedSettings) -> None:
        self._descriptor = descriptor
        self._settings = settings
        self._ids = itertools.count(1)

    async def open(self, request: RealtimeSessionRequest) -> ScriptedRealtimeChannel:
        channel = ScriptedRealtimeChannel(request, self._settings)
        channel.emit(
            SessionStarted(
                session_id=f"scripted-rt-{next(self._ids)}",
                provider=self._descriptor.name,
                model=request.model or self._settings.model,
                offline=True,
            )
        )
        return channel


class ScriptedRealtimeChannel:
    """One scripted realtime session; see the module docstring for its behaviour."""

    def __init__(self, request: RealtimeSessionRequest, settings: ScriptedSettings) -> None:
        self._request = request
        self._delay = settings.token_delay_ms / 1000
        self._outbox: asyncio.Queue[RealtimeServerEvent] = asyncio.Queue()
        self._said: list[str] = []
        self._answers: list[asyncio.Task[None]] = []
        self._closed = False

    def emit(self, event: RealtimeServerEvent) -> None:
        self._outbox.put_nowait(event)

    async def send(self, event: RealtimeClientEvent) -> None:
        if self._closed:
            raise InvalidRequest("the realtime session is closed")
        if isinstance(event, InputText):
            self._start_answer(event.text)
        elif isinstance(event, InputAudio | InputAudioCommit):
            detail = "the scripted provider does not accept audio; send input.text"
            self.emit(RealtimeError(error=ErrorInfo(code="unsupported", detail=detail)))
        elif isinstance(event, ResponseCancel):
            running = self._pending()
            if running:
                running[0].cancel()

    async def events(self) -> AsyncIterator[RealtimeServerEvent]:
        while True:
            event = await self._outbox.get()
            yield event
            if isinstance(event, SessionClosed):
                return

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._answers:
            task.cancel()
        await asyncio.gather(*self._answers, return_exceptions=True)
        self.emit(SessionClosed(reason="closed by client"))

    def _pending(self) -> list[asyncio.Task[None]]:
        self._answers = [task for task in self._answers if not task.done()]
        return self._answers

    def _start_answer(self, text: str) -> None:
        previous = self._pending()[-1] if self._pending() else None
        last = self._said[-1] if self._said else None
        input_tokens = sum(map(word_count, [self._request.instructions, *self._said, text]))
        self._said.append(text)
        self._answers.append(asyncio.create_task(self._answer(text, last, input_tokens, previous)))

    async def _answer(
        self, text: str, last: str | None, input_tokens: int, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        answer = direct_answer(text, last)
        pieces = tokens(answer)
        sent: list[str] = []
        try:
            for index, piece in enumerate(pieces):
                if index and self._delay > 0:
                    await asyncio.sleep(self._delay)
                self.emit(OutputTextDelta(delta=piece))
                sent.append(piece)
        finally:
            if not self._closed:
                usage = Usage(
                    input_tokens=input_tokens, output_tokens=len(sent), total_tokens=input_tokens + len(sent)
                )
                self.emit(TurnCompleted(text="".join(sent), usage=usage))
