"""The OpenAI Agents SDK as a client: Switchboard is its model provider (Responses and Chat Completions);
the SDK runs tools and handoffs in the client process while Switchboard routes each model call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agents import Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, RunConfig, Runner, function_tool
from openai import AsyncOpenAI

from tests.support.app import KEY_A, live_server, make_settings

calls: list[str] = []


@function_tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    calls.append(expression)
    return str(eval(expression, {"__builtins__": {}}))  # the test's own expressions only


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncOpenAI]:
    async with live_server(make_settings(tmp_path)) as url:
        async with AsyncOpenAI(api_key=KEY_A, base_url=f"{url}/v1", max_retries=0) as opened:
            yield opened


def agents_on(client: AsyncOpenAI, api: str) -> Agent[None]:
    make = OpenAIResponsesModel if api == "responses" else OpenAIChatCompletionsModel
    concise = Agent(
        name="concise", instructions="Be brief.", model=make(model="scripted", openai_client=client)
    )
    return Agent(
        name="assistant",
        instructions="Use tools.",
        tools=[calculator],
        handoffs=[concise],
        model=make(model="scripted", openai_client=client),
    )


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_the_sdk_runs_a_tool_through_switchboard(client: AsyncOpenAI, api: str) -> None:
    calls.clear()
    result = await Runner.run(
        agents_on(client, api), "what is 6 * 7?", run_config=RunConfig(tracing_disabled=True)
    )
    assert calls == ["6 * 7"]
    assert result.final_output == "The calculator says 42."


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_the_sdk_hands_off_through_switchboard(client: AsyncOpenAI, api: str) -> None:
    result = await Runner.run(
        agents_on(client, api), "please transfer to concise", run_config=RunConfig(tracing_disabled=True)
    )
    assert result.last_agent.name == "concise"
    assert result.final_output == "You said: please transfer to concise"


async def test_the_sdk_streams_through_switchboard(client: AsyncOpenAI) -> None:
    streamed = Runner.run_streamed(
        agents_on(client, "responses"), "hello stream", run_config=RunConfig(tracing_disabled=True)
    )
    deltas = [
        event.data.delta
        async for event in streamed.stream_events()
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta"
    ]
    assert "".join(deltas) == "You said: hello stream"
    assert streamed.final_output == "You said: hello stream"
