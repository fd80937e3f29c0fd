"""The vendor-neutral pieces under ``adapters/providers/http``: error bodies of other servers, Retry-After,
the identity cache, and the settings the OpenAI kind gained for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import msgspec
import pytest

from adapters.providers.http.failures import from_error_code, from_status, retry_after_seconds, safe_token
from adapters.providers.http.identity_cache import IdentityCache
from adapters.providers.openai.settings import OpenAISettings, validate_settings
from contracts.errors import ProviderRejected
from ops.mock_upstream import MockUpstream
from tests.providers.openai.wire_support import API_KEY, MODES, ask, assert_clean, model_on


def test_retry_after_in_milliseconds_seconds_or_a_date() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after_seconds({"retry-after": later}) or 0) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None and retry_after_seconds({}) is None


def test_a_context_error_without_a_code_is_recognised_but_not_echoed() -> None:
    """vLLM answers 400 with only a message; Anthropic with an ``invalid_request_error`` type."""
    vllm = {
        "object": "error",
        "message": "This model's maximum context length is 4096 tokens. Secret",
        "code": 400,
    }
    error = from_status("local", 400, {}, msgspec.json.encode(vllm))
    assert isinstance(error, ProviderRejected) and error.failure == "context_too_long"
    assert "Secret" not in str(error) and "4096" not in str(error)
    anthropic = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "prompt is too long: 1 > 0"},
    }
    assert from_status("claude", 400, {}, msgspec.json.encode(anthropic)).failure == "context_too_long"
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    error = from_status("claude", 529, {"retry-after": "2"}, msgspec.json.encode(overloaded))
    assert (error.failure, error.retry_after, error.retryable) == ("overloaded", 2.0, True)


def test_only_safe_tokens_reach_a_detail() -> None:
    assert safe_token("context_length_exceeded") == "context_length_exceeded"
    for unsafe in ("sk-abc123def", "two words", "x" * 65, 42, None, "key_abcdef", "<b>"):
        assert safe_token(unsafe) is None
    assert from_error_code("openai", "sk-proj-leaked").reason == "upstream had a server error"


@pytest.mark.parametrize("api_mode", MODES)
async def test_an_error_code_carrying_the_key_is_not_echoed(mock: MockUpstream, api_mode: str) -> None:
    headers = {"x-mock-fault": "status", "x-mock-status": "400", "x-mock-error-code": API_KEY}
    async with model_on(mock, api_mode, headers=headers) as model:
        with pytest.raises(ProviderRejected) as caught:
            await model.complete(ask("hi"))
    assert_clean(caught.value)
    assert caught.value.reason == "upstream rejected the request (HTTP 400, invalid_request_error)"


def test_the_identity_cache_is_bounded_and_keyed_by_identity() -> None:
    built: list[tuple[object, ...]] = []

    def build(items: tuple[object, ...]) -> int:
        built.append(items)
        return len(built)

    cache: IdentityCache[object, int] = IdentityCache(build, size=2)
    a, b, c = object(), object(), object()
    assert cache.get((a,)) == 1 and cache.get((a,)) == 1
    assert cache.get((a, b)) == 2 and cache.get((c,)) == 3
    assert len(cache) == 2 and cache.get((a,)) == 4  # the oldest entry went first


def test_new_settings_are_validated_naming_their_variable() -> None:
    bad = OpenAISettings(api_key="k", stream_idle_timeout_s=0, max_connections=0)
    assert validate_settings("local", bad) == [
        "SWITCHBOARD_PROVIDER_LOCAL_STREAM_IDLE_TIMEOUT_S must be > 0",
        "SWITCHBOARD_PROVIDER_LOCAL_MAX_CONNECTIONS must be >= 1",
    ]
    assert validate_settings("local", OpenAISettings(api_key="k")) == []
