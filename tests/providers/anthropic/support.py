"""Builders shared by the Anthropic kind's tests: a mock upstream and ``AnthropicModel`` instances on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from adapters.providers.anthropic.settings import AnthropicSettings
from adapters.providers.anthropic.wire.model import AnthropicModel
from contracts.errors import ProviderUnavailable
from contracts.models import ModelDone, ModelEvent, ModelRequest, ModelResponse, UserPrompt
from contracts.tools import ToolSpec
from ops.mock_upstream import MockUpstream

API_KEY = "sk-ant-wire-secret-0123456789abcdef"
MESSAGES = "/v1/messages"
CALCULATOR = ToolSpec(
    name="calculator",
    description="Evaluate arithmetic.",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)
UPSTREAM_TEXT = ("mock", "invalid x-api-key", "prompt is too long", "Overloaded", "exceeded your rate limit")
"""Words of the mock's Anthropic error messages: none may reach an error we raise."""


def settings(base_url: str, **changes: Any) -> AnthropicSettings:
    values: dict[str, Any] = {"base_url": base_url, "api_key": API_KEY, "model": "claude-mock"}
    values.update(changes)
    return AnthropicSettings(**values)


@asynccontextmanager
async def model_on(
    mock: MockUpstream | str, *, headers: Mapping[str, str] | None = None, **changes: Any
) -> AsyncIterator[AnthropicModel]:
    """An ``AnthropicModel`` named ``anthropic`` on ``mock`` (or a base URL), closed afterwards."""
    base_url = mock if isinstance(mock, str) else mock.url
    model = AnthropicModel("anthropic", settings(base_url, **changes), headers=headers)
    try:
        yield model
    finally:
        await model.aclose()


def ask(text: str, **fields: Any) -> ModelRequest:
    return ModelRequest(messages=(UserPrompt.of(text),), **fields)


async def collect(model: AnthropicModel, request: ModelRequest) -> tuple[list[ModelEvent], ModelResponse]:
    """Every event of a stream, and the response of its ``ModelDone`` (asserted to come once, last)."""
    events = [event async for event in model.stream(request)]
    done = [e for e in events if isinstance(e, ModelDone)]
    assert len(done) == 1 and events[-1] is done[0]
    return events[:-1], done[0].response


def assert_clean(error: ProviderUnavailable) -> None:
    """No key and no upstream message text anywhere in what a caller could show or log."""
    shown = [str(error), error.detail, error.reason, msgspec.json.encode(error.info()).decode()]
    for text in shown:
        assert API_KEY not in text and "sk-" not in text, text
        for words in UPSTREAM_TEXT:
            assert words not in text, text
