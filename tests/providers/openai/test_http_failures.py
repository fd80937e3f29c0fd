"""Every upstream failure, through ``OpenAIModel.complete`` and ``.stream`` against the mock upstream in both
API modes: the class a router decides on, retryable, Retry-After, and never the key or upstream text."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest

from adapters.providers.openai.wire.model import OpenAIModel
from contracts.errors import ProviderRejected, ProviderUnavailable
from contracts.models import ModelEvent, ModelRequest, ModelTextDelta, ModelToolCallDelta
from ops.mock_upstream import MockUpstream
from tests.providers.openai.wire_support import LOOKUP, MODES, PATHS, ask, assert_clean, closed_port, model_on

Call = Callable[[OpenAIModel], Awaitable[list[ModelEvent]]]
LONG = "please give a long answer with plenty of words in it"


async def _complete(model: OpenAIModel) -> list[ModelEvent]:
    await model.complete(ask(LONG))
    return []


async def _stream(
    model: OpenAIModel, seen: list[ModelEvent] | None = None, request: ModelRequest | None = None
) -> list[ModelEvent]:
    events = seen if seen is not None else []
    async for event in model.stream(request or ask(LONG)):
        events.append(event)
    return events


@pytest.fixture(params=MODES)
def api_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["complete", "stream"])
def call(request: pytest.FixtureRequest) -> Call:
    return _complete if request.param == "complete" else _stream


async def _fails(
    mock: MockUpstream | str, api_mode: str, call: Call, headers: dict[str, str], **changes: float
) -> ProviderUnavailable:
    async with model_on(mock, api_mode, headers=headers, **changes) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await call(model)
    assert_clean(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("fault", "failure", "status", "code"),
    [
        ("429", "rate_limited", 429, "rate_limit_exceeded"),
        ("503", "overloaded", 503, "server_is_overloaded"),
        ("500", "server_error", 500, "server_error"),
    ],
)
async def test_retryable_statuses_carry_retry_after(
    mock: MockUpstream, api_mode: str, call: Call, fault: str, failure: str, status: int, code: str
) -> None:
    error = await _fails(mock, api_mode, call, {"x-mock-fault": fault, "x-mock-retry-after": "7"})
    assert type(error) is ProviderUnavailable and error.retryable
    assert (error.failure, error.upstream_status) == (failure, status)
    assert error.retry_after == (7.0 if status != 500 else None)
    assert (
        error.reason
        == {
            "rate_limited": "upstream is rate limiting (HTTP 429, rate_limit_exceeded)",
            "overloaded": "upstream is overloaded (HTTP 503, server_is_overloaded)",
            "server_error": "upstream had a server error (HTTP 500, server_error)",
        }[failure]
    )
    assert code in error.reason


async def test_a_refused_key_is_auth_and_never_echoed(mock: MockUpstream, api_mode: str, call: Call) -> None:
    """The mock's 401 message quotes the bearer token verbatim; none of it reaches the error."""
    error = await _fails(mock, api_mode, call, {"x-mock-fault": "401"})
    assert type(error) is ProviderUnavailable and not error.retryable
    assert (error.failure, error.upstream_status) == ("auth", 401)
    assert (
        error.reason
        == "upstream refused the credentials or the account has no quota (HTTP 401, invalid_api_key)"
    )


async def test_context_length_exceeded_is_rejected_as_too_long(
    mock: MockUpstream, api_mode: str, call: Call
) -> None:
    error = await _fails(mock, api_mode, call, {"x-mock-fault": "400-context"})
    assert isinstance(error, ProviderRejected) and not error.retryable
    assert (error.failure, error.upstream_status) == ("context_too_long", 400)
    assert error.code == "provider_rejected" and "context_length_exceeded" in error.reason


@pytest.mark.parametrize(
    ("status", "code", "failure", "rejected", "retryable"),
    [
        (400, None, "bad_request", True, False),
        (422, None, "bad_request", True, False),
        (400, "content_policy_violation", "content_filtered", True, False),
        (400, "content_filter", "content_filtered", True, False),
        (413, None, "context_too_long", True, False),
        (403, None, "auth", False, False),
        (404, "model_not_found", "unsupported", False, False),
        (408, None, "timeout", False, True),
        (429, "insufficient_quota", "auth", False, False),
        (502, None, "server_error", False, True),
        (504, None, "server_error", False, True),
        (529, "overloaded_error", "overloaded", False, True),
    ],
)
async def test_each_status_has_its_class(
    mock: MockUpstream,
    api_mode: str,
    call: Call,
    status: int,
    code: str | None,
    failure: str,
    rejected: bool,
    retryable: bool,
) -> None:
    headers = {"x-mock-fault": "status", "x-mock-status": str(status)}
    if code:
        headers["x-mock-error-code"] = code
    error = await _fails(mock, api_mode, call, headers)
    assert (error.failure, error.upstream_status, error.retryable) == (failure, status, retryable)
    assert isinstance(error, ProviderRejected) is rejected
    assert f"HTTP {status}" in error.reason and (code or "invalid_request_error") in error.reason


async def test_no_answer_in_time_is_a_timeout(mock: MockUpstream, api_mode: str, call: Call) -> None:
    """The mock waits 5 s before answering; a stream waits for its headers as long as ``timeout_s``."""
    started = time.monotonic()
    error = await _fails(mock, api_mode, call, {"x-mock-fault": "timeout"}, timeout_s=0.4)
    assert time.monotonic() - started < 2.0
    assert (error.failure, error.retryable, error.upstream_status) == ("timeout", True, None)


async def test_a_silent_stream_is_stalled_within_the_idle_timeout(mock: MockUpstream, api_mode: str) -> None:
    seen: list[ModelEvent] = []
    headers = {"x-mock-fault": "stall", "x-mock-stall-ms": "5000"}
    async with model_on(mock, api_mode, headers=headers, stream_idle_timeout_s=0.3, timeout_s=10) as model:
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen)
        elapsed = time.monotonic() - started
    assert (caught.value.failure, caught.value.retryable) == ("stalled", True)
    assert 0.3 <= elapsed < 1.5
    assert [e.delta for e in seen if isinstance(e, ModelTextDelta)] == ["Mock ", "answer "]
    assert_clean(caught.value)


async def test_a_whole_answer_that_stalls_midway_times_out(mock: MockUpstream, api_mode: str) -> None:
    headers = {"x-mock-fault": "stall", "x-mock-stall-ms": "5000"}
    started = time.monotonic()
    error = await _fails(mock, api_mode, _complete, headers, timeout_s=0.4, stream_idle_timeout_s=10)
    assert error.failure == "timeout" and time.monotonic() - started < 2.0


async def test_a_slow_but_steady_stream_is_not_stalled(mock: MockUpstream, api_mode: str) -> None:
    headers = {"x-mock-token-delay-ms": "100"}
    async with model_on(mock, api_mode, headers=headers, stream_idle_timeout_s=0.3) as model:
        events = await _stream(model)
    assert len([e for e in events if isinstance(e, ModelTextDelta)]) == 14


async def test_a_connection_cut_after_the_first_delta_is_dropped(mock: MockUpstream, api_mode: str) -> None:
    seen: list[ModelEvent] = []
    async with model_on(mock, api_mode, headers={"x-mock-fault": "drop", "x-mock-fault-after": "1"}) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen)
    assert (caught.value.failure, caught.value.retryable) == ("dropped", True)
    assert [e.delta for e in seen if isinstance(e, ModelTextDelta)] == ["Mock "]
    assert_clean(caught.value)


async def test_a_tool_call_cut_midway_is_dropped(mock: MockUpstream, api_mode: str) -> None:
    seen: list[ModelEvent] = []
    headers = {"x-mock-fault": "drop", "x-mock-fault-after": "2"}
    request = ask('use lookup {"query": "a b c d"}', tools=(LOOKUP,))
    async with model_on(mock, api_mode, headers=headers) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen, request)
    assert caught.value.failure == "dropped"
    assert len([e for e in seen if isinstance(e, ModelToolCallDelta)]) == 2


@pytest.mark.parametrize("headers", [{"x-mock-fault": "drop-before"}, {"x-mock-fault": "drop"}])
async def test_a_connection_cut_before_any_answer_is_dropped(
    mock: MockUpstream, api_mode: str, call: Call, headers: dict[str, str]
) -> None:
    error = await _fails(mock, api_mode, call, {**headers, "x-mock-fault-after": "0"})
    assert (error.failure, error.retryable, error.upstream_status) == ("dropped", True, None)


async def test_a_stream_ending_cleanly_without_its_final_event_is_dropped(
    mock: MockUpstream, api_mode: str
) -> None:
    """The body ends in good order after two pieces, without ``[DONE]``/``response.completed``."""
    seen: list[ModelEvent] = []
    async with model_on(mock, api_mode, headers={"x-mock-fault": "truncate"}) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen)
    assert (caught.value.failure, caught.value.retryable) == ("dropped", True)
    assert caught.value.reason == "upstream stream ended before its final event"
    assert len([e for e in seen if isinstance(e, ModelTextDelta)]) == 2


async def test_a_whole_answer_cut_short_is_malformed(mock: MockUpstream, api_mode: str) -> None:
    error = await _fails(mock, api_mode, _complete, {"x-mock-fault": "truncate"})
    assert (error.failure, error.retryable) == ("malformed", True)


async def test_an_undecodable_answer_is_malformed(mock: MockUpstream, api_mode: str, call: Call) -> None:
    error = await _fails(mock, api_mode, call, {"x-mock-fault": "malformed"})
    assert (error.failure, error.retryable) == ("malformed", True)
    assert error.reason == "upstream sent a malformed answer"


@pytest.mark.parametrize(
    ("code", "failure", "rejected"),
    [
        ("server_error", "server_error", False),
        ("rate_limit_exceeded", "rate_limited", False),
        ("context_length_exceeded", "context_too_long", True),
        ("invalid_prompt", "content_filtered", True),
    ],
)
async def test_failures_reported_inside_the_answer_are_classified(
    mock: MockUpstream, api_mode: str, call: Call, code: str, failure: str, rejected: bool
) -> None:
    """Chat: an ``{"error": ...}`` chunk (streamed) or body (whole, status 200); Responses:
    ``response.failed`` (streamed) or a ``failed`` response (whole)."""
    error = await _fails(mock, api_mode, call, {"x-mock-fault": "stream-error", "x-mock-error-code": code})
    assert error.failure == failure and isinstance(error, ProviderRejected) is rejected
    assert code in error.reason


async def test_a_responses_error_event_is_classified(mock: MockUpstream) -> None:
    headers = {
        "x-mock-fault": "stream-error",
        "x-mock-error-event": "error",
        "x-mock-error-code": "server_error",
    }
    error = await _fails(mock, "responses", _stream, headers)
    assert (error.failure, error.retryable) == ("server_error", True)


async def test_a_closed_port_is_refused_not_a_timeout(api_mode: str, call: Call) -> None:
    error = await _fails(closed_port(), api_mode, call, {})
    assert (error.failure, error.retryable) == ("refused", True)
    assert error.reason == "could not connect to the upstream"


async def test_ping_reports_health_without_tokens(mock: MockUpstream, api_mode: str) -> None:
    async with model_on(mock, api_mode) as model:
        assert (await model.ping()).ok
    async with model_on(closed_port(), api_mode) as model:
        health = await model.ping()
    assert not health.ok and health.detail == "could not connect to the upstream"
    assert [r.path for r in mock.requests] == ["/v1/models"]


async def test_stop_sequences_are_unsupported_by_the_responses_api(mock: MockUpstream) -> None:
    async with model_on(mock, "responses") as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await model.complete(ask("hi", stop=("END",)))
        with pytest.raises(ProviderUnavailable):
            await _stream(model, request=ask("hi", stop=("END",)))
    assert (caught.value.failure, caught.value.retryable) == ("unsupported", False)
    assert mock.requests_to(PATHS["responses"]) == []
