"""Fakes for the ports (fakes, not mocks: they behave, and tests assert on their state)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import svcs

from backend.wiring.providers import Directory
from contracts.agents import ProviderCapabilities, ProviderDescriptor, ProviderHealth
from contracts.errors import ProviderUnavailable
from contracts.events import RunFinished, RuntimeEvent, TextDelta, UsageReported
from contracts.ports import AgentTurn, ProviderDirectory, RunResult
from contracts.providers import ProviderInstance
from contracts.usage import Usage


@dataclass
class FakeRuntime:
    """Streams ``tokens`` with ``delay`` between them; fails after ``fail_after`` tokens if set."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " fake", "."])
    delay: float = 0.0
    fail_after: int | None = None
    name: str = "fake"
    calls: list[AgentTurn] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    first_token_delay: float = 0.0
    crash_after: int | None = None
    """Raise a plain RuntimeError (an adapter bug, not a domain error) after this many tokens."""

    @property
    def descriptor(self) -> ProviderDescriptor:
        return ProviderDescriptor(
            name=self.name,
            kind="fake",
            default_model="fake-1",
            capabilities=ProviderCapabilities(streaming=True),
        )

    def _usage(self) -> Usage:
        return Usage(input_tokens=3, output_tokens=len(self.tokens), total_tokens=3 + len(self.tokens))

    async def run(self, turn: AgentTurn) -> RunResult:
        self.calls.append(turn)
        if self.fail_after is not None:
            raise ProviderUnavailable(self.name, "upstream returned 503", retryable=True, upstream_status=503)
        return RunResult(
            output="".join(self.tokens), usage=self._usage(), model="fake-1", agent=turn.agent.key
        )

    async def stream(self, turn: AgentTurn) -> AsyncGenerator[RuntimeEvent, None]:
        self.calls.append(turn)
        finished = False
        try:
            if self.first_token_delay:
                await asyncio.sleep(self.first_token_delay)
            for index, token in enumerate(self.tokens):
                if self.fail_after is not None and index == self.fail_after:
                    raise ProviderUnavailable(self.name, "connection dropped", retryable=True)
                if self.crash_after is not None and index == self.crash_after:
                    raise RuntimeError("adapter bug")
                if index and self.delay:
                    await asyncio.sleep(self.delay)
                yield TextDelta(delta=token)
            yield UsageReported(usage=self._usage())
            finished = True
            yield RunFinished(
                output="".join(self.tokens), usage=self._usage(), model="fake-1", agent=turn.agent.key
            )
        finally:
            if not finished:
                self.cancelled.set()

    async def ping(self) -> ProviderHealth:
        return ProviderHealth(ok=True)


def use_runtime(runtime: FakeRuntime):  # type: ignore[no-untyped-def]
    """A ``configure`` hook registering a provider directory whose only provider is ``runtime``."""

    def configure(registry: svcs.Registry) -> None:
        instance = ProviderInstance(descriptor=runtime.descriptor, runtime=runtime)
        registry.register_value(ProviderDirectory, Directory({runtime.name: instance}, runtime.name))

    return configure
