"""``ModelRouter``: retries, fallback, circuits and balancing, over fake deployments that fail on cue."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import pytest

from adapters.routing.memory_health import MemoryHealthBoard
from backend.services.routing.deployments import Deployment
from backend.services.routing.policy import RetryPolicy, RoutePolicy
from backend.services.routing.router import ModelRouter, NoDeployment
from contracts.errors import ProviderRejected, ProviderUnavailable
from contracts.models import (
    ModelDone,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ModelTextDelta,
    UserPrompt,
)
from contracts.routing import HealthPolicy
from contracts.tools import ToolSpec

REQUEST = ModelRequest(messages=(UserPrompt.of("hi"),))
WITH_TOOLS = ModelRequest(
    messages=(UserPrompt.of("hi"),), tools=(ToolSpec(name="t", description="", parameters={}),)
)


def failure(kind: str, *, status: int | None = None, retry_after: float | None = None) -> ProviderUnavailable:
    cls = (
        ProviderRejected
        if kind in {"bad_request", "context_too_long", "content_filtered"}
        else ProviderUnavailable
    )
    return cls(
        "x", f"failed: {kind}", retryable=True, failure=kind, upstream_status=status, retry_after=retry_after
    )


@dataclass
class CueModel:
    """A LanguageModel whose calls fail as cued (``cues`` consumed one per call; empty: success)."""

    name: str
    cues: list[ProviderUnavailable | None] = field(default_factory=list)
    latency: float = 0.0
    fail_after_first_delta: ProviderUnavailable | None = None
    calls: list[ModelRequest] = field(default_factory=list)

    def _cue(self, request: ModelRequest) -> None:
        self.calls.append(request)
        cue = self.cues.pop(0) if self.cues else None
        if cue is not None:
            raise cue

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self._cue(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        return ModelResponse(text=f"from {self.name}", provider=self.name, model=request.model)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        self._cue(request)
        yield ModelTextDelta(delta="first ")
        if self.fail_after_first_delta is not None:
            raise self.fail_after_first_delta
        yield ModelTextDelta(delta=self.name)
        yield ModelDone(
            response=ModelResponse(text=f"first {self.name}", provider=self.name, model=request.model)
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def deployment(
    model: CueModel, *, weight: float = 1.0, caps: frozenset[str] = frozenset({"tools"}), **kw: object
) -> Deployment:
    return Deployment(
        provider=model.name, model=f"{model.name}-model", target=model, capabilities=caps, weight=weight, **kw
    )  # type: ignore[arg-type]


def router(
    *models: CueModel | Deployment,
    strategy: str = "priority",
    retries: int = 1,
    board: MemoryHealthBoard | None = None,
    slept: list[float] | None = None,
    fallback: bool = True,
) -> ModelRouter:
    async def sleep(delay: float) -> None:
        if slept is not None:
            slept.append(delay)

    deployments = [m if isinstance(m, Deployment) else deployment(m) for m in models]
    policy = RoutePolicy(
        strategy=strategy, retry=RetryPolicy(retries=retries, base_delay_s=0.01), fallback=fallback
    )  # type: ignore[arg-type]
    return ModelRouter(
        "r",
        deployments,
        policy,
        board or MemoryHealthBoard(HealthPolicy()),
        rng=random.Random(7),
        sleep=sleep,
    )


async def test_a_healthy_first_deployment_answers_alone() -> None:
    a, b = CueModel("a"), CueModel("b")
    response = await router(a, b).complete(REQUEST)
    assert (response.provider, response.model, response.attempts) == ("a", "a-model", ())
    assert b.calls == []


async def test_a_server_error_is_retried_then_falls_back_with_every_attempt_recorded() -> None:
    a, b = CueModel("a", [failure("server_error", status=500)] * 2), CueModel("b")
    slept: list[float] = []
    response = await router(a, b, retries=1, slept=slept).complete(REQUEST)
    assert response.provider == "b"
    assert [(x.provider, x.failure, x.status) for x in response.attempts] == [
        ("a", "server_error", 500),
        ("a", "server_error", 500),
    ]
    assert len(a.calls) == 2
    assert len(slept) == 1


async def test_a_short_retry_after_is_waited_for_on_the_same_deployment() -> None:
    a, b = CueModel("a", [failure("rate_limited", status=429, retry_after=0.5)]), CueModel("b")
    slept: list[float] = []
    response = await router(a, b, slept=slept).complete(REQUEST)
    assert response.provider == "a"
    assert slept == [0.5]
    assert b.calls == []


async def test_a_long_retry_after_falls_back_at_once() -> None:
    a, b = CueModel("a", [failure("rate_limited", status=429, retry_after=600)]), CueModel("b")
    slept: list[float] = []
    response = await router(a, b, slept=slept).complete(REQUEST)
    assert response.provider == "b"
    assert slept == []


async def test_a_bad_request_is_never_retried_nor_sent_elsewhere() -> None:
    a, b = CueModel("a", [failure("bad_request", status=400)]), CueModel("b")
    with pytest.raises(ProviderRejected) as raised:
        await router(a, b).complete(REQUEST)
    assert raised.value.failure == "bad_request"
    assert [x.failure for x in raised.value.attempts] == ["bad_request"]
    assert (len(a.calls), b.calls) == (1, [])


async def test_context_too_long_goes_only_to_a_deployment_that_handles_it() -> None:
    a = CueModel("a", [failure("context_too_long", status=400)])
    b, c = CueModel("b"), CueModel("c")
    big = deployment(c, handles=frozenset({"context_too_long"}))
    response = await router(a, b, big).complete(REQUEST)
    assert response.provider == "c"
    assert b.calls == []


async def test_context_too_long_without_a_handler_is_the_callers_error() -> None:
    a, b = CueModel("a", [failure("context_too_long", status=400)]), CueModel("b")
    with pytest.raises(ProviderRejected):
        await router(a, b).complete(REQUEST)
    assert b.calls == []


async def test_an_auth_failure_falls_back_without_a_retry() -> None:
    a, b = CueModel("a", [failure("auth", status=401)]), CueModel("b")
    response = await router(a, b, retries=3).complete(REQUEST)
    assert (response.provider, len(a.calls)) == ("b", 1)


async def test_when_everything_fails_the_last_failure_is_raised_with_all_attempts() -> None:
    a = CueModel("a", [failure("server_error", status=500)])
    b = CueModel("b", [failure("overloaded", status=503)])
    with pytest.raises(ProviderUnavailable) as raised:
        await router(a, b, retries=0).complete(REQUEST)
    assert raised.value.failure == "overloaded"
    assert [x.provider for x in raised.value.attempts] == ["a", "b"]


async def test_a_failing_deployment_cools_down_is_skipped_then_probed_once() -> None:
    clock = Clock()
    board = MemoryHealthBoard(HealthPolicy(failures_to_open=2, cooldown_s=30), clock=clock)
    a, b = CueModel("a", [failure("server_error")] * 2), CueModel("b")
    route = router(a, b, retries=0, board=board)
    for _ in range(2):
        assert (await route.complete(REQUEST)).provider == "b"
    assert board.state("a:a-model").state == "cooling"
    for _ in range(5):
        assert (await route.complete(REQUEST)).provider == "b"
    assert len(a.calls) == 2  # skipped without being tried
    clock.now += 31
    assert board.state("a:a-model").state == "probing"
    assert (await route.complete(REQUEST)).provider == "a"  # the probe succeeds and closes the circuit
    assert board.state("a:a-model").state == "ok"
    assert (await route.complete(REQUEST)).provider == "a"


async def test_a_failed_probe_opens_the_circuit_again() -> None:
    clock = Clock()
    board = MemoryHealthBoard(HealthPolicy(failures_to_open=1, cooldown_s=10), clock=clock)
    a, b = CueModel("a", [failure("timeout"), failure("timeout")]), CueModel("b")
    route = router(a, b, retries=0, board=board)
    await route.complete(REQUEST)
    clock.now += 11
    await route.complete(REQUEST)  # the probe fails
    assert board.state("a:a-model").state == "cooling"
    assert len(a.calls) == 2


async def test_a_route_whose_deployments_all_cool_down_answers_at_once_with_retry_after() -> None:
    board = MemoryHealthBoard(HealthPolicy(failures_to_open=1, cooldown_s=30))
    a = CueModel("a", [failure("server_error")])
    route = router(a, retries=0, board=board)
    with pytest.raises(ProviderUnavailable):
        await route.complete(REQUEST)
    with pytest.raises(ProviderUnavailable) as raised:
        await route.complete(REQUEST)
    assert raised.value.retryable
    assert raised.value.retry_after is not None and 25 < raised.value.retry_after <= 30
    assert len(a.calls) == 1


async def test_a_stream_fails_over_before_its_first_event() -> None:
    a, b = CueModel("a", [failure("refused")]), CueModel("b")
    events = [e async for e in router(a, b, retries=0).stream(REQUEST)]
    done = events[-1]
    assert isinstance(done, ModelDone)
    assert done.response.provider == "b"
    assert [x.failure for x in done.response.attempts] == ["refused"]
    assert [e.delta for e in events if isinstance(e, ModelTextDelta)] == ["first ", "b"]


async def test_a_stream_never_fails_over_after_its_first_event() -> None:
    a = CueModel("a", fail_after_first_delta=failure("dropped"))
    b = CueModel("b")
    received: list[ModelEvent] = []

    async def consume() -> None:
        async for event in router(a, b).stream(REQUEST):
            received.append(event)

    with pytest.raises(ProviderUnavailable) as raised:
        await consume()
    assert received == [ModelTextDelta(delta="first ")]
    assert raised.value.failure == "dropped"
    assert [x.provider for x in raised.value.attempts] == ["a"]
    assert b.calls == []


async def test_capabilities_filter_deployments() -> None:
    a, b = CueModel("a"), CueModel("b")
    plain = deployment(a, caps=frozenset())
    response = await router(plain, b).complete(WITH_TOOLS)
    assert (response.provider, a.calls) == ("b", [])


async def test_a_request_no_deployment_can_serve_is_a_clear_422() -> None:
    with pytest.raises(NoDeployment) as raised:
        await router(deployment(CueModel("a"), caps=frozenset())).complete(WITH_TOOLS)
    assert "tools" in raised.value.detail


async def test_weighted_balancing_lands_within_five_percent_of_the_weights() -> None:
    a, b, c = CueModel("a"), CueModel("b"), CueModel("c")
    route = router(
        deployment(a, weight=5), deployment(b, weight=3), deployment(c, weight=2), strategy="weighted"
    )
    served = Counter([(await route.complete(REQUEST)).provider for _ in range(1000)])
    for name, share in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        assert abs(served[name] / 1000 - share) <= 0.05, served


async def test_least_busy_prefers_the_deployment_with_fewer_calls_in_flight() -> None:
    slow, fast = CueModel("slow", latency=0.05), CueModel("fast", latency=0.005)
    route = router(slow, fast, strategy="least_busy")
    served: Counter[str] = Counter()

    async def client() -> None:
        for _ in range(10):
            served[(await route.complete(REQUEST)).provider] += 1

    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(8))), timeout=10)
    assert served["fast"] > served["slow"] * 2, served


async def test_latency_aware_routing_prefers_the_faster_deployment() -> None:
    slow, fast = CueModel("slow", latency=0.02), CueModel("fast", latency=0.001)
    route = router(slow, fast, strategy="latency")
    served = Counter([(await route.complete(REQUEST)).provider for _ in range(60)])
    assert served["fast"] >= 50, served


async def test_a_deployment_at_its_in_flight_cap_is_skipped() -> None:
    a, b = CueModel("a", latency=0.05), CueModel("b")
    route = router(deployment(a, max_in_flight=1), b)
    first = asyncio.create_task(route.complete(REQUEST))
    await asyncio.sleep(0.01)
    second = await route.complete(REQUEST)
    assert ((await first).provider, second.provider) == ("a", "b")


async def test_without_fallback_only_the_first_deployment_is_tried() -> None:
    a, b = CueModel("a", [failure("server_error")]), CueModel("b")
    with pytest.raises(ProviderUnavailable):
        await router(a, b, retries=0, fallback=False).complete(REQUEST)
    assert b.calls == []


async def test_each_deployment_is_asked_for_its_own_upstream_model() -> None:
    a, b = CueModel("a", [failure("server_error")]), CueModel("b")
    await router(a, b, retries=0).complete(REQUEST)
    assert (a.calls[0].model, b.calls[0].model) == ("a-model", "b-model")
