"""Fakes for the ports (fakes, not mocks: they behave, and tests assert on their state)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import svcs

from adapters.catalog.toml_catalog import TomlAgentCatalog
from adapters.persistence.memory_sessions import MemorySessionStore
from adapters.routing.memory_health import MemoryHealthBoard
from adapters.tools import default_tools
from backend.settings import RoutingSettings
from backend.wiring.directory import Directory
from backend.wiring.providers import assemble_directory
from contracts.agents import ProviderCapabilities, ProviderDescriptor
from contracts.errors import ProviderUnavailable
from contracts.models import (
    ModelDone,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    ModelTextDelta,
    UserPrompt,
)
from contracts.ports import ProviderDirectory, RealtimeChannelFactory
from contracts.providers import ProviderInstance
from contracts.routing import HealthPolicy
from contracts.starts import upstream_wait
from contracts.usage import Usage
from tests.support.app import REPO


@dataclass
class FakeModel:
    """A ``LanguageModel`` streaming ``tokens`` with ``delay`` between them; raises a retryable
    ``ProviderUnavailable`` after ``fail_after`` tokens if set (0: before any). ``calls`` records every
    request; ``cancelled`` is set when a stream is closed before its end."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " fake", "."])
    delay: float = 0.0
    fail_after: int | None = None
    name: str = "fake"
    calls: list[ModelRequest] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    first_token_delay: float = 0.0
    crash_after: int | None = None
    """Raise a plain RuntimeError (an adapter bug, not a domain error) after this many tokens."""
    sends: bool = False
    """Say, as an HTTP provider does, that the stream's request went upstream (``contracts.starts``)."""

    @property
    def descriptor(self) -> ProviderDescriptor:
        return ProviderDescriptor(
            name=self.name,
            kind="fake",
            default_model="fake-1",
            capabilities=ProviderCapabilities(streaming=True, tools=True, handoffs=True),
        )

    def _response(self) -> ModelResponse:
        usage = Usage(input_tokens=3, output_tokens=len(self.tokens), total_tokens=3 + len(self.tokens))
        return ModelResponse(text="".join(self.tokens), usage=usage, provider=self.name, model="fake-1")

    def _failure(self) -> ProviderUnavailable:
        return ProviderUnavailable(
            self.name, "upstream answered HTTP 503", retryable=True, upstream_status=503, failure="overloaded"
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls.append(request)
        if self.fail_after is not None:
            raise self._failure()
        return self._response()

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        self.calls.append(request)
        finished = False
        try:
            if self.sends:
                upstream_wait()
            if self.first_token_delay:
                await asyncio.sleep(self.first_token_delay)
            for index, token in enumerate(self.tokens):
                if self.fail_after is not None and index == self.fail_after:
                    raise ProviderUnavailable(
                        self.name, "connection dropped", retryable=True, failure="dropped"
                    )
                if self.crash_after is not None and index == self.crash_after:
                    raise RuntimeError("adapter bug")
                if index and self.delay:
                    await asyncio.sleep(self.delay)
                yield ModelTextDelta(delta=token)
            finished = True
            yield ModelDone(response=self._response())
        finally:
            if not finished:
                self.cancelled.set()

    def user_texts(self, call: int = -1) -> list[str]:
        """The user messages of one recorded request, oldest first."""
        return [m.text for m in self.calls[call].messages if isinstance(m, UserPrompt)]


def fake_directory(
    model: FakeModel, *, retries: int = 0, realtime: RealtimeChannelFactory | None = None
) -> Directory:
    """A directory whose only provider is ``model`` (no retries unless asked), with the real catalog and
    tools so agents and the tool loop behave as in the service."""
    tools = default_tools(MemorySessionStore())
    catalog = TomlAgentCatalog.load(REPO / "config/agents.toml", known_tools=set(tools.names()))
    instance = ProviderInstance(descriptor=model.descriptor, model=model, realtime=realtime)
    return assemble_directory(
        {model.name: instance},
        model.name,
        routing=RoutingSettings(retries=retries),
        tools=tools,
        catalog=catalog,
        board=MemoryHealthBoard(HealthPolicy()),
    )


def use_model(model: FakeModel):  # type: ignore[no-untyped-def]
    """A ``configure`` hook registering a provider directory whose only provider is ``model``."""

    def configure(registry: svcs.Registry) -> None:
        registry.register_value(ProviderDirectory, fake_directory(model))

    return configure
