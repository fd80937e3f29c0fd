"""Builders shared by the wire-codec tests (imported as ``tests.providers.openai.wire_support``)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from adapters.providers.openai.settings import OpenAISettings
from adapters.providers.openai.wire.model import OpenAIModel
from contracts.errors import ProviderUnavailable
from contracts.models import ModelDone, ModelEvent, ModelRequest, ModelResponse, UserPrompt
from contracts.tools import ToolSpec
from ops.mock_upstream import MockUpstream

API_KEY = "sk-wire-secret-0123456789abcdef"
MODES = ("chat_completions", "responses")
PATHS = {"chat_completions": "/v1/chat/completions", "responses": "/v1/responses"}
LOOKUP = ToolSpec(
    name="lookup",
    description="Look something up.",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
UPSTREAM_TEXT = ("mock", "Incorrect API key", "maximum context length", "Rate limit reached")
"""Words of the mock's error messages: none may reach an error we raise."""


def settings(base_url: str, api_mode: str, **changes: Any) -> OpenAISettings:
    values: dict[str, Any] = {"base_url": base_url, "api_mode": api_mode, "api_key": API_KEY}
    values.update(changes)
    return OpenAISettings(**values)


@asynccontextmanager
async def model_on(
    mock: MockUpstream | str, api_mode: str, *, headers: Mapping[str, str] | None = None, **changes: Any
) -> AsyncIterator[OpenAIModel]:
    """An ``OpenAIModel`` named ``openai`` on ``mock`` (or a base URL), closed afterwards."""
    base_url = mock if isinstance(mock, str) else mock.base_url
    model = OpenAIModel("openai", settings(base_url, api_mode, **changes), headers=headers)
    try:
        yield model
    finally:
        await model.aclose()


def ask(text: str, **fields: Any) -> ModelRequest:
    return ModelRequest(messages=(UserPrompt.of(text),), **fields)


async def collect(model: OpenAIModel, request: ModelRequest) -> tuple[list[ModelEvent], ModelResponse]:
    """Every event of a stream, and the response of its ``ModelDone`` (asserted to come once, last)."""
    events = [event async for event in model.stream(request)]
    done = [e for e in events if isinstance(e, ModelDone)]
    assert len(done) == 1 and events[-1] is done[0]
    return events[:-1], done[0].response


def closed_port() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def assert_clean(error: ProviderUnavailable) -> None:
    """No key and no upstream message text anywhere in what a caller could show or log."""
    shown = [str(error), error.detail, error.reason, msgspec.json.encode(error.info()).decode()]
    for text in shown:
        assert API_KEY not in text and "sk-" not in text, text
        for words in UPSTREAM_TEXT:
            assert words not in text, text
