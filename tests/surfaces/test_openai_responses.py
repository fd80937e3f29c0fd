"""``/v1/responses`` through the official ``openai`` client: answers, streams, chains kept in our
conversations (also across providers), tools run by the client, and stored responses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from ops.mock_upstream.server import running_mock
from tests.support.app import KEY_A, KEY_B, auth, live_server, make_settings

CALCULATOR = {
    "type": "function",
    "name": "calculator",
    "description": "Evaluate arithmetic.",
    "parameters": {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
}


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    async with live_server(make_settings(tmp_path)) as url:
        yield url


@pytest.fixture
async def api(base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key=KEY_A, base_url=f"{base_url}/v1", max_retries=0) as opened:
        yield opened


async def test_a_response_and_its_chain(api: openai.AsyncOpenAI) -> None:
    first = await api.responses.create(model="scripted", input="my dog is called Rex")
    assert first.output_text == "You said: my dog is called Rex"
    assert first.status == "completed"
    assert first.usage is not None and first.usage.output_tokens > 0
    second = await api.responses.create(
        model="scripted", input="what did I say?", previous_response_id=first.id
    )
    assert second.output_text == 'Earlier you said: "my dog is called Rex"'
    assert second.previous_response_id == first.id
    stored = await api.responses.retrieve(second.id)
    assert (stored.id, stored.output_text) == (second.id, second.output_text)


async def test_a_streamed_response_has_the_event_sequence_and_one_completed(api: openai.AsyncOpenAI) -> None:
    stream = await api.responses.create(model="scripted", input="one two three", stream=True)
    events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert kinds.count("response.completed") == 1
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "You said: one two three"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.output_text == text  # type: ignore[union-attr]


async def test_tools_run_in_the_client_across_a_chain(api: openai.AsyncOpenAI) -> None:
    first = await api.responses.create(model="scripted", input="what is 6 * 7?", tools=[CALCULATOR])
    [call] = [item for item in first.output if item.type == "function_call"]
    assert (call.name, json.loads(call.arguments)) == ("calculator", {"expression": "6 * 7"})
    second = await api.responses.create(
        model="scripted",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "42"}],
        tools=[CALCULATOR],
    )
    assert second.output_text == "The calculator says 42."


async def test_an_older_response_forks_the_chain(api: openai.AsyncOpenAI) -> None:
    first = await api.responses.create(model="scripted", input="first thing")
    await api.responses.create(model="scripted", input="second thing", previous_response_id=first.id)
    forked = await api.responses.create(
        model="scripted", input="what did I say?", previous_response_id=first.id
    )
    assert forked.output_text == 'Earlier you said: "first thing"'


async def test_store_false_keeps_nothing(api: openai.AsyncOpenAI) -> None:
    answer = await api.responses.create(model="scripted", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        await api.responses.retrieve(answer.id)
    with pytest.raises(openai.NotFoundError):
        await api.responses.create(model="scripted", input="again", previous_response_id=answer.id)


async def test_another_tenant_cannot_see_or_continue_a_response(
    api: openai.AsyncOpenAI, base_url: str
) -> None:
    mine = await api.responses.create(model="scripted", input="private")
    async with openai.AsyncOpenAI(api_key=KEY_B, base_url=f"{base_url}/v1", max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            await other.responses.retrieve(mine.id)
        with pytest.raises(openai.NotFoundError):
            await other.responses.create(model="scripted", input="x", previous_response_id=mine.id)


async def test_a_stored_response_is_a_conversation_and_delete_removes_it(
    api: openai.AsyncOpenAI, base_url: str
) -> None:
    answer = await api.responses.create(model="scripted", input="keep me")
    async with httpx.AsyncClient(base_url=base_url) as http:
        conversations = (await http.get("/v1/conversations", headers=auth())).json()["data"]
        assert len(conversations) == 1
        deleted = await http.delete(f"/v1/responses/{answer.id}", headers=auth())
        assert deleted.json() == {"id": answer.id, "object": "response", "deleted": True}
        assert (await http.get("/v1/conversations", headers=auth())).json()["data"] == []


async def test_a_chain_started_on_one_provider_continues_on_another(tmp_path: Path) -> None:
    async with running_mock() as mock:
        env = {
            "SWITCHBOARD_PROVIDERS": "resp,local",
            "SWITCHBOARD_PROVIDER_RESP_KIND": "openai",
            "SWITCHBOARD_PROVIDER_RESP_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_RESP_API_MODE": "responses",
            "SWITCHBOARD_PROVIDER_LOCAL_KIND": "openai",
            "SWITCHBOARD_PROVIDER_LOCAL_BASE_URL": mock.base_url,
            "SWITCHBOARD_PROVIDER_LOCAL_API_MODE": "chat_completions",
        }
        async with live_server(make_settings(tmp_path, **env)) as url:
            async with openai.AsyncOpenAI(api_key=KEY_A, base_url=f"{url}/v1", max_retries=0) as api:
                first = await api.responses.create(model="resp", input="hello from the first provider")
                second = await api.responses.create(
                    model="local", input="and now the second", previous_response_id=first.id
                )
    assert second.output_text == "Mock answer to: and now the second"
    [chat] = [r.body for r in mock.requests_to("/v1/chat/completions")]
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "user"]
    assert chat["messages"][1]["content"] == "Mock answer to: hello from the first provider"
