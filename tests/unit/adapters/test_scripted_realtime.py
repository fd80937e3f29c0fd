"""The scripted realtime channel: text round trips, audio refusal, cancel and close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.providers.scripted import ScriptedSettings
from adapters.providers.scripted.realtime import ScriptedRealtime, ScriptedRealtimeChannel
from contracts.agents import ProviderDescriptor
from contracts.errors import InvalidRequest
from contracts.realtime import (
    InputAudio,
    InputAudioCommit,
    InputText,
    OutputTextDelta,
    RealtimeError,
    RealtimeServerEvent,
    RealtimeSessionRequest,
    ResponseCancel,
    SessionClosed,
    SessionStarted,
    TurnCompleted,
)
from contracts.usage import Usage

DESCRIPTOR = ProviderDescriptor(name="scripted", kind="scripted", default_model="scripted-1", offline=True)
REQUEST = RealtimeSessionRequest(tenant_id="tenant-a", instructions="Be nice.")


async def open_channel(
    token_delay_ms: float = 0.0,
) -> tuple[ScriptedRealtimeChannel, AsyncIterator[RealtimeServerEvent]]:
    factory = ScriptedRealtime(DESCRIPTOR, ScriptedSettings(token_delay_ms=token_delay_ms))
    channel = await factory.open(REQUEST)
    return channel, channel.events()


async def until_turn_completed(events: AsyncIterator[RealtimeServerEvent]) -> list[RealtimeServerEvent]:
    received: list[RealtimeServerEvent] = []
    while not received or not isinstance(received[-1], TurnCompleted):
        received.append(await asyncio.wait_for(anext(events), timeout=1))
    return received


async def test_text_round_trip_then_close() -> None:
    channel, events = await open_channel()
    assert await anext(events) == SessionStarted(
        session_id="scripted-rt-1", provider="scripted", model="scripted-1", offline=True
    )
    await channel.send(InputText(text="hello world"))
    assert await until_turn_completed(events) == [
        OutputTextDelta(delta="You "),
        OutputTextDelta(delta="said: "),
        OutputTextDelta(delta="hello "),
        OutputTextDelta(delta="world"),
        TurnCompleted(
            text="You said: hello world", usage=Usage(input_tokens=4, output_tokens=4, total_tokens=8)
        ),
    ]
    await channel.close()
    assert [event async for event in events] == [SessionClosed(reason="closed by client")]


async def test_recall_uses_the_sessions_earlier_text() -> None:
    channel, events = await open_channel()
    await anext(events)
    await channel.send(InputText(text="my name is Ada"))
    await channel.send(InputText(text="what did I say?"))
    first, second = await until_turn_completed(events), await until_turn_completed(events)
    assert first[-1] == TurnCompleted(
        text="You said: my name is Ada", usage=Usage(input_tokens=6, output_tokens=6, total_tokens=12)
    )
    assert isinstance(second[-1], TurnCompleted)
    assert second[-1].text == 'Earlier you said: "my name is Ada"'
    await channel.close()


async def test_audio_is_refused_as_unsupported() -> None:
    channel, events = await open_channel()
    await anext(events)
    await channel.send(InputAudio(audio="AAAA"))
    await channel.send(InputAudioCommit())
    for _ in range(2):
        event = await anext(events)
        assert isinstance(event, RealtimeError)
        assert event.error.code == "unsupported"
    await channel.close()


async def test_response_cancel_stops_the_answer_with_the_partial_text() -> None:
    channel, events = await open_channel(token_delay_ms=60_000)
    await anext(events)
    await channel.send(InputText(text="a long answer"))
    assert await asyncio.wait_for(anext(events), timeout=1) == OutputTextDelta(delta="You ")
    await channel.send(ResponseCancel())
    completed = await asyncio.wait_for(anext(events), timeout=1)
    assert isinstance(completed, TurnCompleted)
    assert completed.text == "You "
    await channel.close()
    assert await anext(events) == SessionClosed(reason="closed by client")


async def test_close_mid_answer_ends_the_events_promptly() -> None:
    channel, events = await open_channel(token_delay_ms=60_000)
    await anext(events)
    await channel.send(InputText(text="a long answer"))
    await asyncio.wait_for(anext(events), timeout=1)
    await asyncio.wait_for(channel.close(), timeout=1)
    assert [event async for event in events] == [SessionClosed(reason="closed by client")]
    await channel.close()


async def test_send_after_close_is_refused() -> None:
    channel, _events = await open_channel()
    await channel.close()
    with pytest.raises(InvalidRequest, match="closed"):
        await channel.send(InputText(text="hello"))
