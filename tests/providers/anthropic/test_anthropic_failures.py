"""Every upstream failure, through ``AnthropicModel.complete`` and ``.stream`` against the mock's Anthropic
error shapes, before and after the first token: the class a router decides on, retryable, retry-after,
and never the key or upstream text."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from adapters.providers.anthropic.wire.model import AnthropicModel
from contracts.errors import ProviderRejected, ProviderUnavailable
from contracts.models import ModelEvent, ModelRequest, ModelTextDelta, ModelToolCallDelta
from ops.mock_upstream import MockUpstream
from tests.providers.anthropic.support import CALCULATOR, ask, assert_clean, model_on

Call = Callable[[AnthropicModel], Awaitable[list[ModelEvent]]]
LONG = "please give a long answer with plenty of words in it"


async def _complete(model: AnthropicModel) -> list[ModelEvent]:
    await model.complete(ask(LONG))
    return []


async def _stream(
    model: AnthropicModel, seen: list[ModelEvent] | None = None, request: ModelRequest | None = None
) -> list[ModelEvent]:
    events = seen if seen is not None else []
    async for event in model.stream(request or ask(LONG)):
        events.append(event)
    return events


@pytest.fixture(params=["complete", "stream"])
def call(request: pytest.FixtureRequest) -> Call:
    return _complete if request.param == "complete" else _stream


async def _fails(
    mock: MockUpstream | str, call: Call, headers: dict[str, str], **changes: float
) -> ProviderUnavailable:
    async with model_on(mock, headers=headers, **changes) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await call(model)
    assert_clean(caught.value)
    return caught.value


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("fault", "failure", "status", "kind", "after"),
    [
        ("429", "rate_limited", 429, "rate_limit_error", 7.0),
        ("529", "overloaded", 529, "overloaded_error", 7.0),
        ("503", "overloaded", 503, "api_error", 7.0),
        ("500", "server_error", 500, "api_error", None),
    ],
)
async def test_retryable_statuses_carry_retry_after(
    mock: MockUpstream, call: Call, fault: str, failure: str, status: int, kind: str, after: float | None
) -> None:
    error = await _fails(mock, call, {"x-mock-fault": fault, "x-mock-retry-after": "7"})
    assert type(error) is ProviderUnavailable and error.retryable
    assert (error.failure, error.upstream_status, error.retry_after) == (failure, status, after)
    assert kind in error.reason


async def test_a_refused_key_is_auth_and_never_echoed(mock: MockUpstream, call: Call) -> None:
    """The mock's 401 message quotes the x-api-key received verbatim; none of it reaches the error."""
    error = await _fails(mock, call, {"x-mock-fault": "401"})
    assert type(error) is ProviderUnavailable and not error.retryable
    assert (error.failure, error.upstream_status) == ("auth", 401)
    assert (
        error.reason
        == "upstream refused the credentials or the account has no quota (HTTP 401, authentication_error)"
    )


async def test_prompt_is_too_long_is_rejected_as_context_too_long(mock: MockUpstream, call: Call) -> None:
    """Anthropic sends no code for it: the message is read (never repeated) to recognise it."""
    error = await _fails(mock, call, {"x-mock-fault": "400-context"})
    assert isinstance(error, ProviderRejected) and not error.retryable
    assert (error.failure, error.upstream_status) == ("context_too_long", 400)


@pytest.mark.parametrize(
    ("status", "kind", "failure", "rejected", "retryable"),
    [
        (400, "invalid_request_error", "bad_request", True, False),
        (413, "request_too_large", "context_too_long", True, False),
        (401, "authentication_error", "auth", False, False),
        (403, "permission_error", "auth", False, False),
        (404, "not_found_error", "unsupported", False, False),
        (500, "api_error", "server_error", False, True),
        (529, "overloaded_error", "overloaded", False, True),
    ],
)
async def test_each_status_has_its_class(
    mock: MockUpstream, call: Call, status: int, kind: str, failure: str, rejected: bool, retryable: bool
) -> None:
    headers = {"x-mock-fault": "status", "x-mock-status": str(status), "x-mock-error-type": kind}
    error = await _fails(mock, call, headers)
    assert (error.failure, error.upstream_status, error.retryable) == (failure, status, retryable)
    assert isinstance(error, ProviderRejected) is rejected
    assert f"HTTP {status}, {kind}" in error.reason


async def test_no_answer_in_time_is_a_timeout(mock: MockUpstream, call: Call) -> None:
    started = time.monotonic()
    error = await _fails(mock, call, {"x-mock-fault": "timeout"}, timeout_s=0.4)
    assert time.monotonic() - started < 2.0
    assert (error.failure, error.retryable) == ("timeout", True)


async def test_a_silent_stream_is_stalled_after_its_first_tokens(mock: MockUpstream) -> None:
    seen: list[ModelEvent] = []
    headers = {"x-mock-fault": "stall", "x-mock-stall-ms": "5000"}
    async with model_on(mock, headers=headers, stream_idle_timeout_s=0.3, timeout_s=10) as model:
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen)
        elapsed = time.monotonic() - started
    assert (caught.value.failure, caught.value.retryable) == ("stalled", True)
    assert 0.3 <= elapsed < 1.5
    assert [e.delta for e in seen if isinstance(e, ModelTextDelta)] == ["Mock ", "answer "]
    assert_clean(caught.value)


async def test_a_stream_silent_before_its_first_token_is_stalled(mock: MockUpstream) -> None:
    headers = {"x-mock-fault": "stall", "x-mock-stall-ms": "5000", "x-mock-fault-after": "0"}
    error = await _fails(mock, _stream, headers, stream_idle_timeout_s=0.3, timeout_s=10)
    assert error.failure == "stalled"


async def test_a_slow_but_steady_stream_is_not_stalled(mock: MockUpstream) -> None:
    async with model_on(mock, headers={"x-mock-token-delay-ms": "100"}, stream_idle_timeout_s=0.3) as model:
        events = await _stream(model)
    assert len([e for e in events if isinstance(e, ModelTextDelta)]) == 14


@pytest.mark.parametrize(("after", "pieces"), [("0", []), ("1", ["Mock "])])
async def test_a_connection_cut_before_or_after_the_first_token_is_dropped(
    mock: MockUpstream, after: str, pieces: list[str]
) -> None:
    seen: list[ModelEvent] = []
    async with model_on(mock, headers={"x-mock-fault": "drop", "x-mock-fault-after": after}) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen)
    assert (caught.value.failure, caught.value.retryable) == ("dropped", True)
    assert [e.delta for e in seen if isinstance(e, ModelTextDelta)] == pieces
    assert_clean(caught.value)


async def test_a_tool_call_cut_midway_is_dropped(mock: MockUpstream) -> None:
    seen: list[ModelEvent] = []
    request = ask('use calculator {"expression": "1 + 2 + 3"}', tools=(CALCULATOR,))
    async with model_on(mock, headers={"x-mock-fault": "drop", "x-mock-fault-after": "2"}) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen, request)
    assert caught.value.failure == "dropped"
    assert len([e for e in seen if isinstance(e, ModelToolCallDelta)]) == 2


async def test_a_connection_cut_before_any_answer_is_dropped(mock: MockUpstream, call: Call) -> None:
    error = await _fails(mock, call, {"x-mock-fault": "drop-before"})
    assert (error.failure, error.retryable, error.upstream_status) == ("dropped", True, None)


async def test_a_stream_ending_without_message_stop_is_dropped(mock: MockUpstream) -> None:
    seen: list[ModelEvent] = []
    async with model_on(mock, headers={"x-mock-fault": "truncate"}) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen)
    assert caught.value.reason == "upstream stream ended before its final event"
    assert len([e for e in seen if isinstance(e, ModelTextDelta)]) == 2


async def test_a_whole_answer_cut_short_or_undecodable_is_malformed(mock: MockUpstream, call: Call) -> None:
    for fault in ("malformed",) if call is _stream else ("malformed", "truncate"):
        error = await _fails(mock, call, {"x-mock-fault": fault})
        assert (error.failure, error.retryable) == ("malformed", True)


@pytest.mark.parametrize(
    ("kind", "failure", "rejected", "after"),
    [
        ("overloaded_error", "overloaded", False, "0"),
        ("overloaded_error", "overloaded", False, "2"),
        ("api_error", "server_error", False, "2"),
        ("rate_limit_error", "rate_limited", False, "1"),
        ("invalid_request_error", "bad_request", True, "0"),
    ],
)
async def test_an_error_event_in_the_stream_is_classified(
    mock: MockUpstream, kind: str, failure: str, rejected: bool, after: str
) -> None:
    seen: list[ModelEvent] = []
    headers = {"x-mock-fault": "stream-error", "x-mock-error-code": kind, "x-mock-fault-after": after}
    async with model_on(mock, headers=headers) as model:
        with pytest.raises(ProviderUnavailable) as caught:
            await _stream(model, seen)
    assert caught.value.failure == failure and isinstance(caught.value, ProviderRejected) is rejected
    assert len([e for e in seen if isinstance(e, ModelTextDelta)]) == int(after)
    assert_clean(caught.value)


async def test_an_error_body_with_status_200_is_classified(mock: MockUpstream) -> None:
    error = await _fails(
        mock, _complete, {"x-mock-fault": "stream-error", "x-mock-error-code": "overloaded_error"}
    )
    assert (error.failure, error.retryable) == ("overloaded", True)


async def test_a_closed_port_is_refused(call: Call) -> None:
    error = await _fails(closed_port(), call, {})
    assert (error.failure, error.reason) == ("refused", "could not connect to the upstream")


async def test_ping_reports_an_unreachable_upstream() -> None:
    async with model_on(closed_port()) as model:
        health = await model.ping()
    assert not health.ok and health.detail == "could not connect to the upstream"
