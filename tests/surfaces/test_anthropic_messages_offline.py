"""``POST /v1/messages`` and ``/v1/messages/count_tokens`` driven by the official ``anthropic`` client, on
the offline provider: answers, the event sequence, client tools, token estimates, and every error as the
client's own exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest

from tests.support.app import KEY_A, KEY_NO_SCOPE, live_server, make_settings

CALCULATOR = {
    "name": "calculator",
    "description": "Evaluate arithmetic.",
    "input_schema": {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
}


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    async with live_server(make_settings(tmp_path)) as url:
        yield url


def client(base_url: str, key: str = KEY_A, **options: object) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0, **options)  # type: ignore[arg-type]


@pytest.fixture
async def api(base_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with client(base_url) as opened:
        yield opened


async def test_a_plain_message(api: anthropic.AsyncAnthropic) -> None:
    message = await api.messages.create(
        model="scripted",
        max_tokens=100,
        system="Be kind.",
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [
        ("text", "You said: hello there")
    ]
    assert (message.stop_reason, message.model, message.role) == ("end_turn", "scripted-1", "assistant")
    assert message.usage.input_tokens == 4 and message.usage.output_tokens == 4


async def test_the_stream_helper_assembles_the_message(api: anthropic.AsyncAnthropic) -> None:
    async with api.messages.stream(
        model="scripted", max_tokens=100, messages=[{"role": "user", "content": "one two three"}]
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == "You said: one two three"
    assert final.content[0].text == "You said: one two three"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 5


async def test_raw_events_follow_anthropics_sequence(api: anthropic.AsyncAnthropic) -> None:
    stream = await api.messages.create(
        model="scripted", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    kinds = [event.type async for event in stream]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}


async def test_client_tools_round_trip(api: anthropic.AsyncAnthropic) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "what is 6 * 7?"}]
    first = await api.messages.create(model="scripted", max_tokens=100, messages=messages, tools=[CALCULATOR])  # type: ignore[arg-type, list-item]
    assert first.stop_reason == "tool_use"
    [call] = [b for b in first.content if b.type == "tool_use"]
    assert (call.name, call.input) == ("calculator", {"expression": "6 * 7"})
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "42"}]},
    ]
    second = await api.messages.create(
        model="scripted", max_tokens=100, messages=messages, tools=[CALCULATOR]
    )  # type: ignore[arg-type, list-item]
    assert second.content[0].text == "The calculator says 42."  # type: ignore[union-attr]


async def test_a_streamed_tool_call_is_assembled_by_the_client(api: anthropic.AsyncAnthropic) -> None:
    async with api.messages.stream(
        model="scripted",
        max_tokens=100,
        messages=[{"role": "user", "content": "what is 2 + 2"}],
        tools=[CALCULATOR],  # type: ignore[list-item]
    ) as stream:
        final = await stream.get_final_message()
    [call] = [b for b in final.content if b.type == "tool_use"]
    assert (call.name, call.input, final.stop_reason) == ("calculator", {"expression": "2 + 2"}, "tool_use")


async def test_count_tokens_is_an_estimate_off_anthropic(api: anthropic.AsyncAnthropic) -> None:
    raw = await api.messages.with_raw_response.count_tokens(
        model="scripted", messages=[{"role": "user", "content": "one two three four"}]
    )
    counted = await raw.parse()
    assert raw.headers["x-switchboard-token-count"] == "estimate"
    assert counted.input_tokens == 9  # '"one two three four"' is 20 bytes -> 5, plus 3 for the message


async def test_x_api_key_authenticates_too(base_url: str) -> None:
    async with anthropic.AsyncAnthropic(
        auth_token=None, api_key=None, base_url=base_url, max_retries=0, default_headers={"x-api-key": KEY_A}
    ) as by_header:
        message = await by_header.messages.create(
            model="scripted", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert message.content[0].text == "You said: hi"  # type: ignore[union-attr]


async def test_errors_arrive_as_the_clients_own_exceptions(
    api: anthropic.AsyncAnthropic, base_url: str
) -> None:
    hi = [{"role": "user", "content": "hi"}]
    async with client(base_url, key="not-a-key") as stranger, client(base_url, key=KEY_NO_SCOPE) as reader:
        with pytest.raises(anthropic.AuthenticationError) as unauthorized:
            await stranger.messages.create(model="scripted", max_tokens=10, messages=hi)  # type: ignore[arg-type]
        assert unauthorized.value.body == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid, expired or revoked API key"},
        }
        with pytest.raises(anthropic.PermissionDeniedError):
            await reader.messages.create(model="scripted", max_tokens=10, messages=hi)  # type: ignore[arg-type]
        with pytest.raises(anthropic.PermissionDeniedError):
            await reader.messages.count_tokens(model="scripted", messages=hi)  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError) as bad:
        await api.messages.create(model="scripted", max_tokens=10, messages=[])
    assert bad.value.body["error"] == {
        "type": "invalid_request_error",
        "message": "messages: expected `array` of length >= 1",
    }  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as document:
        await api.messages.create(
            model="scripted",
            max_tokens=10,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "x"},
                        }
                    ],
                }
            ],
        )
    assert "messages.0.content.0.type" in str(document.value.body)


async def test_structured_output_to_a_provider_without_it_is_a_clear_400(
    api: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        await api.messages.create(
            model="scripted",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"output_format": {"type": "json_schema", "schema": {"type": "object"}}},
        )
    assert "structured_output" in str(bad.value.body)


async def test_the_key_request_limit_is_a_rate_limit_error_with_retry_after(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, SWITCHBOARD_RATE_LIMIT_RPM="1")) as url:
        async with client(url) as api:
            await api.messages.create(
                model="scripted", max_tokens=10, messages=[{"role": "user", "content": "a"}]
            )
            with pytest.raises(anthropic.RateLimitError) as limited:
                await api.messages.create(
                    model="scripted", max_tokens=10, messages=[{"role": "user", "content": "b"}]
                )
    assert limited.value.status_code == 429
    assert int(limited.value.response.headers["retry-after"]) >= 1
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
