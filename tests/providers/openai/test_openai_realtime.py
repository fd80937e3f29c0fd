"""Realtime channels over the mock's WebSocket: text round trip, audio pass-through, closing."""

from __future__ import annotations

import asyncio

from contracts.providers import ProviderInstance
from contracts.realtime import (
    InputAudio,
    InputAudioCommit,
    InputText,
    OutputAudioDelta,
    OutputTextDelta,
    RealtimeSessionRequest,
    SessionClosed,
    SessionStarted,
    TurnCompleted,
)
from ops.mock_upstream import MockUpstream

REQUEST = RealtimeSessionRequest(tenant_id="t1", instructions="Be brief.")


async def next_of(events: object, kind: type) -> object:
    async def find() -> object:
        async for event in events:  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
        raise AssertionError(f"no {kind.__name__}")

    return await asyncio.wait_for(find(), 5)


async def test_text_round_trip(instance: ProviderInstance, mock: MockUpstream) -> None:
    assert instance.realtime is not None
    channel = await instance.realtime.open(REQUEST)
    events = channel.events()
    started = await anext(events)
    assert isinstance(started, SessionStarted)
    assert (started.provider, started.model) == ("openai", "gpt-4o-realtime-preview")
    await channel.send(InputText(text="hello there"))
    deltas: list[str] = []
    async for event in events:
        if isinstance(event, OutputTextDelta):
            deltas.append(event.delta)
        if isinstance(event, TurnCompleted):
            break
    assert "".join(deltas) == event.text == "Mock answer to: hello there"
    assert event.usage.output_tokens == 5
    await channel.close()
    closed = await next_of(events, SessionClosed)
    assert closed == SessionClosed(reason="closed by client")
    [record] = mock.requests
    assert record.path == "/v1/realtime" and record.body == {"model": "gpt-4o-realtime-preview"}
    assert record.events[:3] == ["session.update", "conversation.item.create", "response.create"]
    assert "authorization" not in record.headers


async def test_audio_passes_through_as_base64(instance: ProviderInstance) -> None:
    assert instance.realtime is not None
    channel = await instance.realtime.open(REQUEST)
    events = channel.events()
    await channel.send(InputAudio(audio="AAEC"))
    await channel.send(InputAudio(audio="AwQF"))
    await channel.send(InputAudioCommit())
    audio = await next_of(events, OutputAudioDelta)
    assert audio == OutputAudioDelta(audio="AAECAwQF")
    done = await next_of(events, TurnCompleted)
    assert done.text == "Mock answer to: [audio]"  # type: ignore[attr-defined]
    await channel.close()


async def test_upstream_close_ends_the_channel(instance: ProviderInstance, mock: MockUpstream) -> None:
    assert instance.realtime is not None
    channel = await instance.realtime.open(REQUEST)
    events = channel.events()
    await next_of(events, SessionStarted)
    await mock.stop()
    closed = await next_of(events, SessionClosed)
    assert closed.reason.startswith("upstream")  # type: ignore[attr-defined]
