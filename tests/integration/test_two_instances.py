"""Two service processes behind no load balancer but the test, sharing one PostgreSQL and one Redis:
what one writes the other reads, limits are one budget, and a stream started on one resumes on the other."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.app import API_KEYS, auth
from tests.support.processes import service_process
from tests.support.sse import events, parse_frames

pytestmark = pytest.mark.services

MESSAGE = " ".join(f"word{n}" for n in range(40))


@pytest.fixture(scope="module")
def instances(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    db = 14  # a Redis database of its own, emptied first: limits and streams use fixed key prefixes
    shared_redis = redis_url.rsplit("/", 1)[0] + f"/{db}"
    import redis

    redis.Redis.from_url(shared_redis).flushdb()
    env = {
        "SWITCHBOARD_API_KEYS": API_KEYS,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": shared_redis,
        "SWITCHBOARD_SESSION_STORE": "sql",
        "SWITCHBOARD_RATE_LIMIT_RPM": "6",
        "SWITCHBOARD_STREAM_RESUME_TTL_S": "120",
        "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": "40",
    }
    root = tmp_path_factory.mktemp("instances")
    with service_process(env, var_dir=root / "a") as a, service_process(env, var_dir=root / "b") as b:
        yield a, b
    redis.Redis.from_url(shared_redis).flushdb()


def test_a_conversation_written_through_one_is_read_through_the_other(instances: tuple[str, str]) -> None:
    a, b = instances
    cid = f"two-{uuid.uuid4().hex[:8]}"
    written = httpx.post(
        f"{a}/v1/chat", json={"message": "remember me", "conversation_id": cid}, headers=auth(), timeout=30
    )
    assert written.status_code == 200, written.text
    read = httpx.get(f"{b}/v1/conversations/{cid}", headers=auth(), timeout=10)
    assert read.status_code == 200
    assert [i["text"] for i in read.json()["items"] if i["type"] == "user_message"] == ["remember me"]
    follow_up = httpx.post(
        f"{b}/v1/chat",
        json={"message": "what did I say?", "conversation_id": cid},
        headers=auth(),
        timeout=30,
    )
    assert "remember me" in follow_up.json()["output"]


def test_the_rate_limit_is_one_budget_across_instances(instances: tuple[str, str]) -> None:
    a, b = instances
    key = auth("key-tenant-b")  # a key no other test here uses
    statuses = []
    for n in range(8):
        base = a if n % 2 == 0 else b
        statuses.append(httpx.get(f"{base}/v1/agents", headers=key, timeout=10).status_code)
    assert statuses == [200] * 6 + [429, 429]


def test_a_stream_started_on_one_instance_resumes_on_the_other(instances: tuple[str, str]) -> None:
    a, b = instances
    with httpx.stream(
        "POST",
        f"{a}/v1/chat/stream",
        json={"message": MESSAGE},
        headers=auth("key-tenant-a-admin"),
        timeout=30,
    ) as response:
        assert response.status_code == 200
        stream_id = response.headers["x-stream-id"]
        received = ""
        for chunk in response.iter_text():
            received += chunk
            if received.count("event: text.delta") >= 5:
                break
    seen = events(parse_frames(received.rsplit("\n\n", 1)[0] + "\n\n"))
    last_id = seen[-1].id
    resumed = httpx.get(
        f"{b}/v1/chat/stream/{stream_id}",
        headers={**auth("key-tenant-a-admin"), "Last-Event-ID": str(last_id)},
        timeout=30,
    )
    assert resumed.status_code == 200
    rest = events(parse_frames(resumed.text))
    assert [f.id for f in rest] == list(range(last_id + 1, last_id + 1 + len(rest)))
    assert [f.event for f in rest].count("run.completed") == 1
    assert rest[-1].event == "run.completed"
    text = "".join(f.data["delta"] for f in [*seen, *rest] if f.event == "text.delta")
    assert text == f"You said: {MESSAGE}"
