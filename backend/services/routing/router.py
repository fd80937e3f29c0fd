"""``ModelRouter``: a ``LanguageModel`` over a route's deployments (retries, fallback, circuits, balance).

For one model call: drop the deployments that cannot serve the request (tools, structured output,
images), order the rest by the route's strategy, and try them in turn, skipping those whose circuit is
open (``HealthBoard.admit``) or that are at their in-flight cap. A failure is classified
(``policy.next_step``): retried on the same deployment (backoff, or the upstream's ``Retry-After``),
sent to the next deployment, or raised. Every failed call is an ``Attempt`` in the answer (or in the error).

A stream fails over only while nothing has been yielded; after its first event a failure is raised to the
caller (who ends the turn with one terminal error), never hidden and never a silent truncation.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec
import structlog

from backend.services.routing.deployments import ORDERS, Deployment
from backend.services.routing.policy import SPECIAL, Next, RoutePolicy, next_step
from contracts.errors import InvalidRequest, ProviderRejected, ProviderUnavailable
from contracts.models import (
    Attempt,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelDone,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    WireAnswer,
    WireCall,
    WireFrame,
)
from contracts.ports import WirePassthrough, WireTokenCounter
from contracts.routing import COUNTED_FAILURES, HealthBoard

log = structlog.get_logger("switchboard.routing")
_replace = msgspec.structs.replace


class NoDeployment(InvalidRequest):
    """No deployment of the route can serve what the request needs (422)."""


class ModelRouter:
    """Implements ``LanguageModel`` for one route."""

    def __init__(
        self,
        name: str,
        deployments: Sequence[Deployment],
        policy: RoutePolicy,
        board: HealthBoard,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        if not deployments:
            raise ValueError(f"route {name!r} has no deployment")
        self._name = name
        self.deployments = tuple(deployments)
        self.policy = policy
        self._board = board
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._order = ORDERS.get(policy.strategy)
        self._servable: dict[frozenset[str], tuple[Deployment, ...]] = {}

    @property
    def name(self) -> str:
        return self._name

    # -- choosing -----------------------------------------------------------------------------------------

    def _candidates(self, needs: frozenset[str]) -> list[Deployment]:
        servable = self._servable.get(needs)
        if servable is None:
            servable = self._servable[needs] = tuple(d for d in self.deployments if d.can_serve(needs))
        if not servable:
            wanted = ", ".join(sorted(needs))
            raise NoDeployment(
                f"no deployment of route {self._name!r} supports what this request needs ({wanted})",
                field="model",
            )
        ordered = list(servable) if self._order is None else self._order(servable, self._rng)
        return ordered if self.policy.fallback else ordered[:1]

    async def _admit(self, deployment: Deployment) -> bool:
        return not deployment.busy() and await self._board.admit(deployment.id)

    def _unavailable(self, attempts: list[Attempt], skipped: list[Deployment]) -> ProviderUnavailable:
        """Nothing answered: the last failure (with every attempt), or every deployment cooling down."""
        if not attempts:
            until = [s.until for s in (self._board.state(d.id) for d in skipped) if s.until]
            wait = max(0.0, min(until) - time.time()) if until else None
            return ProviderUnavailable(
                self._name,
                "every deployment of this route is cooling down or busy",
                retryable=True,
                retry_after=round(wait, 1) if wait is not None else None,
                failure="overloaded",
            )
        last = attempts[-1]
        return ProviderUnavailable(
            last.provider,
            last.detail,
            retryable=True,
            upstream_status=last.status,
            failure=last.failure,
            attempts=tuple(attempts),
        )

    # -- outcomes -----------------------------------------------------------------------------------------

    async def _failed(
        self, deployment: Deployment, exc: ProviderUnavailable, started: float, attempts: list[Attempt]
    ) -> None:
        latency = (time.perf_counter() - started) * 1000
        attempts.append(
            Attempt(
                provider=deployment.provider,
                model=deployment.model,
                failure=exc.failure,
                detail=exc.reason,
                status=exc.upstream_status,
                latency_ms=round(latency, 2),
            )
        )
        counted = exc.failure in COUNTED_FAILURES
        await self._board.report(deployment.id, ok=not counted, failure=exc.failure)
        log.info(
            "route.attempt_failed",
            route=self._name,
            deployment=deployment.id,
            failure=exc.failure,
            status=exc.upstream_status,
            latency_ms=round(latency, 2),
        )

    async def _succeeded(self, deployment: Deployment, started: float) -> None:
        deployment.stats.observe((time.perf_counter() - started) * 1000)
        await self._board.report(deployment.id, ok=True)

    def _decide(self, exc: ProviderUnavailable, retry: int, deadline: float) -> tuple[Next, float]:
        if isinstance(exc, ProviderRejected) and exc.failure not in SPECIAL:
            return Next.GIVE_UP, 0.0
        return next_step(exc.failure, retry, exc.retry_after, self.policy, deadline - time.monotonic())

    def _give_up(self, exc: ProviderUnavailable, attempts: list[Attempt]) -> ProviderUnavailable:
        exc.attempts = tuple(attempts)
        return exc

    # -- the port -----------------------------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        async def one(deployment: Deployment) -> ModelResponse:
            return await deployment.target.complete(_for(request, deployment))

        return await self._call(request.needs(), one)

    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        def one(deployment: Deployment) -> AsyncGenerator[ModelEvent, None]:
            return deployment.target.stream(_for(request, deployment))

        return self._stream(request.needs(), one)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        async def one(deployment: Deployment) -> EmbeddingResponse:
            assert deployment.embedder is not None  # the "embeddings" capability says so
            return await deployment.embedder.embed(_replace(request, model=deployment.model))

        return await self._call(_EMBEDDINGS, one)

    async def forward(self, call: WireCall, request: ModelRequest) -> WireAnswer | ModelResponse:
        """Like ``complete``, but a deployment that speaks the client's protocol gets ``call`` as sent
        (pass-through) and answers with its bytes; the others get ``request``."""

        async def one(deployment: Deployment) -> WireAnswer | ModelResponse:
            target = _passthrough(deployment, call.protocol)
            if target is not None:
                return await target.forward(call, deployment.model)
            return await deployment.target.complete(_for(request, deployment))

        return await self._call(request.needs(), one)

    def forward_stream(
        self, call: WireCall, request: ModelRequest
    ) -> AsyncGenerator[WireFrame | ModelEvent, None]:
        """Like ``stream``, with pass-through frames from a deployment that speaks the client's protocol."""

        def one(deployment: Deployment) -> AsyncGenerator[WireFrame | ModelEvent, None]:
            target = _passthrough(deployment, call.protocol)
            if target is not None:
                return target.forward_stream(call, deployment.model)
            return deployment.target.stream(_for(request, deployment))

        return self._stream(request.needs(), one)

    def passes_through(self, protocol: str) -> bool:
        """Every deployment speaks ``protocol`` (a client's body reaches whichever answers, as it is)."""
        return all(_passthrough(d, protocol) is not None for d in self.deployments)

    async def count_tokens(self, call: WireCall, request: ModelRequest) -> int | None:
        """The first counting deployment's count (in the route's order, circuits and caps respected);
        None when no deployment of the route counts tokens for ``call.protocol``."""
        last: ProviderUnavailable | None = None
        for deployment in self._candidates(request.needs()):
            target = _passthrough(deployment, call.protocol)
            if not isinstance(target, WireTokenCounter) or not await self._admit(deployment):
                continue
            try:
                return await target.count_tokens(call, deployment.model)
            except ProviderUnavailable as exc:
                log.info(
                    "route.count_failed", route=self._name, deployment=deployment.id, failure=exc.failure
                )
                last = exc
                if isinstance(exc, ProviderRejected):
                    break
        if last is not None:
            raise last
        return None

    # -- the loops ----------------------------------------------------------------------------------------

    async def _call(self, needs: frozenset[str], one: Callable[[Deployment], Awaitable[T]]) -> T:
        attempts: list[Attempt] = []
        skipped: list[Deployment] = []
        deadline = time.monotonic() + self.policy.timeout_s
        special: str | None = None
        rejected: ProviderUnavailable | None = None
        for deployment in self._candidates(needs):
            if special is not None and special not in deployment.handles:
                continue
            if not await self._admit(deployment):
                skipped.append(deployment)
                continue
            retry = 0
            while True:
                started = time.perf_counter()
                deployment.stats.in_flight += 1
                try:
                    answer = await one(deployment)
                except ProviderUnavailable as exc:
                    await self._failed(deployment, exc, started, attempts)
                    step, delay = self._decide(exc, retry, deadline)
                    if step is Next.GIVE_UP:
                        raise self._give_up(exc, attempts) from None
                    if step is Next.RETRY:
                        retry += 1
                        await self._sleep(delay)  # type: ignore[misc]
                        continue
                    if exc.failure in SPECIAL:
                        special, rejected = exc.failure, exc
                    break
                finally:
                    deployment.stats.in_flight -= 1
                await self._succeeded(deployment, started)
                return _with_attempts(answer, attempts) if attempts else answer
            if time.monotonic() >= deadline:
                break
        if rejected is not None:  # no deployment configured for this failure answered
            raise self._give_up(rejected, attempts)
        raise self._unavailable(attempts, skipped)

    async def _stream(
        self, needs: frozenset[str], one: Callable[[Deployment], AsyncGenerator[E, None]]
    ) -> AsyncGenerator[E, None]:
        attempts: list[Attempt] = []
        skipped: list[Deployment] = []
        deadline = time.monotonic() + self.policy.timeout_s
        special: str | None = None
        rejected: ProviderUnavailable | None = None
        for deployment in self._candidates(needs):
            if special is not None and special not in deployment.handles:
                continue
            if not await self._admit(deployment):
                skipped.append(deployment)
                continue
            retry = 0
            while True:
                started = time.perf_counter()
                yielded = False
                deployment.stats.in_flight += 1
                events = one(deployment)
                try:
                    async for event in events:
                        done = _done_in(event)
                        if done is not None:
                            await self._succeeded(deployment, started)
                            yield _with_attempts(event, attempts) if attempts else event
                            return
                        yielded = True
                        yield event
                    raise ProviderUnavailable(
                        deployment.provider,
                        "the stream ended without a result",
                        retryable=True,
                        failure="dropped",
                    )
                except ProviderUnavailable as exc:
                    await self._failed(deployment, exc, started, attempts)
                    if yielded:
                        raise self._give_up(exc, attempts) from None
                    step, delay = self._decide(exc, retry, deadline)
                    if step is Next.GIVE_UP:
                        raise self._give_up(exc, attempts) from None
                    if step is Next.RETRY:
                        retry += 1
                        await self._sleep(delay)  # type: ignore[misc]
                        continue
                    if exc.failure in SPECIAL:
                        special, rejected = exc.failure, exc
                    break
                finally:
                    deployment.stats.in_flight -= 1
                    await events.aclose()
            if time.monotonic() >= deadline:
                break
        if rejected is not None:
            raise self._give_up(rejected, attempts)
        raise self._unavailable(attempts, skipped)


T = TypeVar("T", ModelResponse, WireAnswer, "WireAnswer | ModelResponse", EmbeddingResponse)
_EMBEDDINGS = frozenset({"embeddings"})
E = TypeVar("E", ModelEvent, "WireFrame | ModelEvent")


def _for(request: ModelRequest, deployment: Deployment) -> ModelRequest:
    """``request`` asking for the deployment's own upstream model."""
    return request if request.model == deployment.model else _replace(request, model=deployment.model)


_PASSES_THROUGH: dict[type, bool] = {}
"""Per model class: does it implement ``WirePassthrough``? (A runtime protocol check reads every method
name: ~15 us a call on Python 3.11, on every pass-through request; a class's methods do not change.)"""


def _passthrough(deployment: Deployment, protocol: str) -> WirePassthrough | None:
    target = deployment.target
    kind = type(target)
    passes = _PASSES_THROUGH.get(kind)
    if passes is None:
        passes = _PASSES_THROUGH[kind] = isinstance(target, WirePassthrough)
    if passes and target.speaks(protocol):  # type: ignore[attr-defined]
        return target  # type: ignore[return-value]
    return None


def _done_in(event: object) -> ModelDone | None:
    if type(event) is ModelDone:
        return event
    if type(event) is WireFrame and event.events and type(event.events[-1]) is ModelDone:
        return event.events[-1]
    return None


def _with_attempts(answer: object, attempts: list[Attempt]) -> Any:
    """``answer`` (a response, a final event or frame, a pass-through answer) carrying ``attempts``."""
    recorded = tuple(attempts)
    if isinstance(answer, ModelResponse | EmbeddingResponse):
        return _replace(answer, attempts=recorded)
    if isinstance(answer, ModelDone):
        return ModelDone(response=_replace(answer.response, attempts=recorded))
    if isinstance(answer, WireAnswer):
        return WireAnswer(body=answer.body, response=_replace(answer.response, attempts=recorded))
    if isinstance(answer, WireFrame):
        done = _done_in(answer)
        assert done is not None
        events = (*answer.events[:-1], ModelDone(response=_replace(done.response, attempts=recorded)))
        return WireFrame(data=answer.data, events=events)
    return answer
