"""The OpenAI provider end to end: the real service and the real mock upstream as subprocesses, real HTTP.

Each test asserts what a client of Switchboard would notice, and what the mock upstream recorded
(``GET /_mock/requests``). ``mode`` runs a test on both API modes: provider ``openai`` (Responses API) and
provider ``local`` (Chat Completions API), both kind ``openai`` on the same mock. Faults are chosen by
model name (``fault-<x>``): the service forwards no ``x-mock-*`` header.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from ops.mock_upstream import logic, parsing
from tests.e2e.stack import API_KEY, MODES, SLOW_MODES, Stack
from tests.support.sse import Frame, events, parse_frames

pytestmark = pytest.mark.e2e

INSTRUCTIONS = {
    "assistant": "You are the e2e assistant. Use tools when asked.",
    "concise": "Answer in one short sentence.",
    "router": "Hand the conversation to the right agent.",
}
MODEL_PATHS = frozenset(MODES.values())


@pytest.fixture(params=sorted(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    """The provider instance under test: ``openai`` (Responses API) or ``local`` (Chat Completions)."""
    return str(request.param)


# -- helpers ----------------------------------------------------------------------------------------------


def records(stack: Stack, *, slow: bool = False) -> list[dict[str, Any]]:
    """What a mock upstream received, in order."""
    url = stack.slow_mock_url if slow else stack.mock_url
    response = httpx.get(f"{url}/_mock/requests", timeout=5)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def model_calls(stack: Stack, *, slow: bool = False) -> list[dict[str, Any]]:
    """The generation requests (``/v1/responses``, ``/v1/chat/completions``) a mock received."""
    return [r for r in records(stack, slow=slow) if r["path"] in MODEL_PATHS]


def prompt_of(record: dict[str, Any]) -> logic.Prompt:
    """A recorded generation request as the mock's rules read it."""
    if record["path"] == MODES["openai"]:
        return parsing.from_responses(record["body"])
    return parsing.from_chat(record["body"])


def mock_usage(record: dict[str, Any]) -> dict[str, int]:
    """The usage the mock reported for one recorded request (its rule in ops/mock_upstream/logic.py)."""
    usage = logic.decide(prompt_of(record)).usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cache_write_tokens": 0,
    }


def summed(usages: list[dict[str, int]]) -> dict[str, int]:
    return {key: sum(u[key] for u in usages) for key in usages[0]}


def stream(client: httpx.Client, body: dict[str, Any]) -> tuple[httpx.Response, list[Frame]]:
    """``POST /v1/chat/stream`` read to its end; the response and its event frames (invariants checked)."""
    response = client.post("/v1/chat/stream", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = events(parse_frames(response.text))
    check_invariants(frames)
    return response, frames


def check_invariants(frames: list[Frame]) -> None:
    """docs/streaming.md: ids 1, 2, 3...; ``run.started`` first; exactly one terminal event, last."""
    assert [f.id for f in frames] == list(range(1, len(frames) + 1))
    assert frames[0].event == "run.started"
    assert all(f.data["type"] == f.event for f in frames)
    terminal = [f for f in frames if f.event in {"run.completed", "run.failed"}]
    assert len(terminal) == 1 and frames[-1] is terminal[0], [f.event for f in frames]


def of_type(frames: list[Frame], event: str) -> list[dict[str, Any]]:
    return [f.data for f in frames if f.event == event]


def text_of(frames: list[Frame]) -> str:
    return "".join(d["delta"] for d in of_type(frames, "text.delta"))


def conversation(client: httpx.Client, conversation_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 5.0) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded); return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def iter_frames(response: httpx.Response) -> Iterator[Frame]:
    """Event frames of a live SSE response as they arrive."""
    block: list[str] = []
    for line in response.iter_lines():
        if line:
            block.append(line)
            continue
        yield from events(parse_frames("\n".join(block)))
        block = []


# -- plain answers ----------------------------------------------------------------------------------------


def test_chat_json_answer(client: httpx.Client, stack: Stack, mode: str) -> None:
    response = client.post("/v1/chat", json={"message": "hello from e2e", "provider": mode})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"] == "Mock answer to: hello from e2e"
    assert (body["provider"], body["agent"], body["offline"]) == (mode, "assistant", False)
    assert [i["type"] for i in body["items"]] == ["user_message", "assistant_message"]
    [call] = model_calls(stack)
    assert call["path"] == MODES[mode]
    assert (call["status"], call["completed"], call["fault"]) == (200, True, None)
    prompt = prompt_of(call)
    assert prompt.last_user_text == "hello from e2e"
    assert INSTRUCTIONS["assistant"] in prompt.texts
    assert {"calculator", "current_time", "search_conversations", "transfer_to_concise"} <= set(prompt.tools)
    assert "authorization" not in call["headers"]
    # our native codec made the call, not the openai client (whose user agent is "AsyncOpenAI/Python ...")
    assert call["headers"]["user-agent"].startswith("switchboard/")
    assert "x-stainless-lang" not in call["headers"]


def test_chat_sse_answer(client: httpx.Client, stack: Stack, mode: str) -> None:
    response, frames = stream(client, {"message": "stream this please", "provider": mode})
    [started] = of_type(frames, "run.started")
    assert (started["provider"], started["offline"], started["protocol"]) == (mode, False, "2")
    answer = "Mock answer to: stream this please"
    assert [d["delta"] for d in of_type(frames, "text.delta")] == logic.pieces(answer)  # the mock's pieces
    [completed] = of_type(frames, "run.completed")
    assert completed["output"] == answer
    assert completed["conversation_id"] == response.headers["x-conversation-id"]
    [call] = model_calls(stack)
    assert (call["path"], call["stream"], call["completed"]) == (MODES[mode], True, True)
    items = conversation(client, completed["conversation_id"])
    assert items[-1]["id"] == completed["message_id"]
    assert (items[-1]["text"], items[-1]["status"]) == (answer, "completed")


# -- tools, handoffs, history -----------------------------------------------------------------------------


def test_tool_round_trip(client: httpx.Client, stack: Stack, mode: str) -> None:
    message = 'please use calculator {"expression": "6*7"}'
    _, frames = stream(client, {"message": message, "provider": mode})
    [called] = of_type(frames, "tool.called")
    assert (called["call"]["name"], called["call"]["arguments"]) == ("calculator", {"expression": "6*7"})
    [output] = of_type(frames, "tool.output")
    assert output["result"]["call_id"] == called["call"]["call_id"]
    assert (output["result"]["output"], output["result"]["is_error"]) == ("42", False)
    [completed] = of_type(frames, "run.completed")
    assert completed["output"] == "Tool calculator returned: 42"

    first, second = model_calls(stack)  # the tool call, then the answer given the tool's output
    assert prompt_of(first).last_is_user
    assert (prompt_of(second).last_tool_name, prompt_of(second).last_tool_output) == ("calculator", "42")
    assert completed["usage"] == summed([mock_usage(first), mock_usage(second)])

    items = conversation(client, completed["conversation_id"])
    assert [i["type"] for i in items] == ["user_message", "tool_call", "tool_result", "assistant_message"]
    assert (items[1]["name"], items[1]["arguments"]) == ("calculator", {"expression": "6*7"})
    assert items[2]["call_id"] == items[1]["call_id"] and items[2]["output"] == "42"


def test_handoff_between_catalog_agents(client: httpx.Client, stack: Stack, mode: str) -> None:
    body: dict[str, Any] = {"message": "I want short answers, transfer to concise", "agent": "router"}
    if mode != "openai":  # the router agent names provider openai; the request overrides it
        body["provider"] = mode
    _, frames = stream(client, body)
    assert of_type(frames, "run.started")[0]["provider"] == mode
    [handoff] = of_type(frames, "agent.handoff")
    assert (handoff["from_agent"], handoff["to_agent"]) == ("router", "concise")
    [completed] = of_type(frames, "run.completed")
    assert completed["agent"] == "concise"
    assert completed["output"] == "Mock answer to: I want short answers, transfer to concise"

    first, second = model_calls(stack)
    assert "transfer_to_concise" in prompt_of(first).tools
    assert INSTRUCTIONS["router"] in prompt_of(first).texts
    assert INSTRUCTIONS["concise"] in prompt_of(second).texts
    items = conversation(client, completed["conversation_id"])
    assert [i["type"] for i in items] == ["user_message", "assistant_message"]
    assert items[-1]["agent"] == "concise"


def test_second_turn_sees_the_first(client: httpx.Client, stack: Stack, mode: str) -> None:
    first = client.post("/v1/chat", json={"message": "my name is Ada", "provider": mode}).json()
    second = client.post(
        "/v1/chat",
        json={"message": "what is my name?", "provider": mode, "conversation_id": first["conversation_id"]},
    )
    assert second.status_code == 200, second.text
    assert second.json()["conversation_id"] == first["conversation_id"]
    _, turn_two = model_calls(stack)
    texts = prompt_of(turn_two).texts
    assert "my name is Ada" in texts
    assert "Mock answer to: my name is Ada" in texts
    assert texts.index("my name is Ada") < texts.index("what is my name?")
    assert len(conversation(client, first["conversation_id"])) == 4


def test_conversation_moves_from_scripted_to_openai_and_back(
    client: httpx.Client, stack: Stack, mode: str
) -> None:
    one = client.post("/v1/chat", json={"message": "remember the blue door"}).json()
    assert (one["provider"], one["offline"]) == ("scripted", True)
    assert one["output"] == "You said: remember the blue door"
    cid = one["conversation_id"]
    assert model_calls(stack) == []

    two = client.post("/v1/chat", json={"message": "which door?", "provider": mode, "conversation_id": cid})
    assert two.status_code == 200, two.text
    assert two.json()["output"] == "Mock answer to: which door?"
    [call] = model_calls(stack)
    texts = prompt_of(call).texts
    assert "remember the blue door" in texts and "You said: remember the blue door" in texts

    three = client.post("/v1/chat", json={"message": "what did I say?", "conversation_id": cid}).json()
    assert three["provider"] == "scripted"
    assert three["output"] == 'Earlier you said: "which door?"'  # the openai turn is in the neutral store
    answers = [i for i in conversation(client, cid) if i["type"] == "assistant_message"]
    assert [a["provider"] for a in answers] == ["scripted", mode, "scripted"]


# -- structured output, usage, moderation -----------------------------------------------------------------


def test_structured_output(client: httpx.Client, stack: Stack, mode: str) -> None:
    response = client.post(
        "/v1/chat", json={"message": "Paris has many bridges", "agent": "extractor", "provider": mode}
    )
    assert response.status_code == 200, response.text
    parsed = json.loads(response.json()["output"])
    assert {"city", "count"} <= set(parsed)
    assert isinstance(parsed["city"], str) and isinstance(parsed["count"], int)
    assert parsed == {"city": "mock city", "count": 4}
    [call] = model_calls(stack)
    schema = prompt_of(call).output_schema
    assert schema is not None and schema["required"] == ["city", "count"]


def test_usage_equals_what_the_mock_reported(client: httpx.Client, stack: Stack, mode: str) -> None:
    body = client.post("/v1/chat", json={"message": "count my four words", "provider": mode}).json()
    [call] = model_calls(stack)
    expected = mock_usage(call)
    assert body["usage"] == expected
    instruction_words = len(INSTRUCTIONS["assistant"].split())
    assert expected["input_tokens"] == instruction_words + 4
    assert expected["output_tokens"] == logic.words("Mock answer to: count my four words")

    _, frames = stream(client, {"message": "count my four words", "provider": mode})
    [reported] = of_type(frames, "usage")
    assert reported["usage"] == expected == of_type(frames, "run.completed")[0]["usage"]


MODERATED_POLICY = {
    "name": "moderated",
    "description": "e2e: provider moderation on input",
    "rules": [{"type": "moderation", "provider": "openai", "applies_to": "input"}],
}


def test_moderation_blocks_a_flagged_input_before_any_model_call(
    client: httpx.Client, stack: Stack, mode: str
) -> None:
    put = client.put("/v1/guardrails/policies/moderated", json=MODERATED_POLICY)
    assert put.status_code == 200, put.text

    for path in ("/v1/chat", "/v1/chat/stream"):
        blocked = client.post(
            path, json={"message": "I will attack them", "agent": "moderated", "provider": mode}
        )
        assert blocked.status_code == 422, blocked.text
        assert blocked.headers["content-type"].startswith("application/problem+json")
        assert blocked.json()["code"] == "guardrail_blocked"
        assert blocked.json()["decision"]["rule"] == "moderation"
    seen = records(stack)
    assert [r["path"] for r in seen] == ["/v1/moderations", "/v1/moderations"]
    assert seen[0]["body"]["input"] == "I will attack them"

    allowed = client.post(
        "/v1/chat", json={"message": "tell me about castles", "agent": "moderated", "provider": mode}
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["output"] == "Mock answer to: tell me about castles"
    assert [r["path"] for r in records(stack)][2:] == ["/v1/moderations", MODES[mode]]


# -- upstream faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "sse"])
def test_429_once_is_retried_and_succeeds(
    client: httpx.Client, stack: Stack, mode: str, streamed: bool
) -> None:
    body = {"message": "rate limited once", "provider": mode, "model": "fault-429-once"}
    started = time.monotonic()
    if streamed:
        _, frames = stream(client, body)
        assert text_of(frames) == "Mock answer to: rate limited once"  # no piece repeated
        output = of_type(frames, "run.completed")[0]["output"]
    else:
        response = client.post("/v1/chat", json=body)
        assert response.status_code == 200, response.text
        output = response.json()["output"]
    assert output == "Mock answer to: rate limited once"
    assert time.monotonic() - started >= 0.9  # the mock's Retry-After: 1 was honoured
    calls = model_calls(stack)
    assert [(c["status"], c["fault"]) for c in calls] == [(429, "429"), (200, None)]


def test_500_is_a_retryable_503_problem_after_the_retries(
    client: httpx.Client, stack: Stack, mode: str
) -> None:
    response = client.post("/v1/chat", json={"message": "boom", "provider": mode, "model": "fault-500"})
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["code"], problem["retryable"]) == ("provider_unavailable", True)
    assert "sk-test-not-real" not in response.text
    assert [c["status"] for c in model_calls(stack)] == [500, 500, 500]  # first attempt + MAX_RETRIES=2


def test_500_in_a_stream_ends_with_a_retryable_run_failed(
    client: httpx.Client, stack: Stack, mode: str
) -> None:
    _, frames = stream(client, {"message": "boom", "provider": mode, "model": "fault-500"})
    assert [f.event for f in frames] == ["run.started", "run.failed"]
    error = frames[-1].data["error"]
    assert (error["code"], error["retryable"], error["status"]) == ("provider_unavailable", True, 500)
    assert len(model_calls(stack)) == 3
    items = conversation(client, frames[-1].data["conversation_id"])
    assert [(i["type"], i.get("status")) for i in items] == [
        ("user_message", None),
        ("assistant_message", "failed"),
    ]


def test_drop_mid_stream_fails_the_turn_and_stores_it_as_failed(
    client: httpx.Client, stack: Stack, mode: str
) -> None:
    _, frames = stream(client, {"message": "tell me a long story", "provider": mode, "model": "fault-drop"})
    assert text_of(frames) == "Mock answer "  # the mock cuts the connection after two pieces
    failed = frames[-1]
    assert failed.event == "run.failed"
    assert (failed.data["error"]["code"], failed.data["error"]["retryable"]) == ("provider_unavailable", True)
    assert len(model_calls(stack)) == 1  # a stream that produced output is never retried

    items = conversation(client, failed.data["conversation_id"])
    assert [i["type"] for i in items] == ["user_message", "assistant_message"]
    assert items[0]["text"] == "tell me a long story"
    assert (items[1]["status"], items[1]["text"]) == ("failed", "Mock answer ")


def test_client_disconnect_closes_the_upstream_request(client: httpx.Client, stack: Stack, mode: str) -> None:
    provider = SLOW_MODES[mode]  # the same API mode on the mock that paces its pieces
    message = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    with client.stream(
        "POST", "/v1/chat/stream", json={"message": message, "provider": provider}
    ) as response:
        assert response.status_code == 200
        cid = response.headers["x-conversation-id"]
        frames = iter_frames(response)
        assert next(frames).event == "run.started"
        assert next(frames).event == "text.delta"
    # leaving the block closed the connection mid-answer (~2.5 s of pieces left)

    def closed_early() -> dict[str, Any] | None:
        calls = model_calls(stack, slow=True)
        return calls[-1] if calls and calls[-1]["closed_early"] else None

    call = wait_for("the upstream request to be closed early", closed_early)
    assert not call["completed"]
    assert len(model_calls(stack, slow=True)) == 1

    def stored() -> list[dict[str, Any]]:
        response = client.get(f"/v1/conversations/{cid}")
        return response.json()["items"] if response.status_code == 200 else []

    items = wait_for("the cancelled turn to be stored", stored)
    assert items[-1]["type"] == "assistant_message" and items[-1]["status"] == "cancelled"
    assert items[-1]["text"].startswith("Mock ") and items[-1]["text"] != f"Mock answer to: {message}"


# -- realtime ---------------------------------------------------------------------------------------------


def test_realtime_round_trip(stack: Stack, client: httpx.Client) -> None:
    url = stack.service_url.replace("http://", "ws://") + "/v1/realtime?provider=openai"
    with connect(url, additional_headers={"Authorization": f"Bearer {API_KEY}"}, open_timeout=10) as ws:
        started = json.loads(ws.recv(timeout=10))
        assert started["type"] == "session.started"
        assert (started["provider"], started["offline"]) == ("openai", False)
        ws.send(json.dumps({"type": "input.text", "text": "hello realtime"}))
        deltas: list[str] = []
        while True:
            event = json.loads(ws.recv(timeout=10))
            if event["type"] == "output.text.delta":
                deltas.append(event["delta"])
            elif event["type"] == "turn.completed":
                break
            else:
                assert event["type"] != "error", event
    assert "".join(deltas) == event["text"] == "Mock answer to: hello realtime"
    assert event["usage"]["output_tokens"] == logic.words(event["text"])
    assert event["usage"]["input_tokens"] == len(INSTRUCTIONS["assistant"].split()) + 2

    def session() -> dict[str, Any] | None:
        found = [r for r in records(stack) if r["path"] == "/v1/realtime" and r["completed"]]
        return found[0] if found else None

    recorded = wait_for("the upstream realtime session to end", session)
    assert recorded["status"] == 101
    assert {"session.update", "conversation.item.create", "response.create"} <= set(recorded["events"])


def test_a_429_that_outlasts_the_retries_passes_retry_after_on(
    client: httpx.Client, stack: Stack, mode: str
) -> None:
    response = client.post("/v1/chat", json={"message": "busy", "provider": mode, "model": "fault-429"})
    assert response.status_code == 503, response.text
    assert response.json()["retryable"] is True
    assert response.headers["retry-after"] == "1"  # the mock's Retry-After, passed on
    assert [c["status"] for c in model_calls(stack)] == [429, 429, 429]
