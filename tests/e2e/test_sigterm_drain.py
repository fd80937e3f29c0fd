"""Graceful drain of a real ``switchboard serve`` process (ops/serving.py, backend/services/drain.py).

SIGTERM arrives while 50 SSE streams are open on slow tokens: readiness turns 503 at once while liveness
stays 200, a new stream is refused with a retryable 503, streams that can finish within the grace period
complete, the others end with exactly one ``run.failed`` (``shutting_down``), every turn is stored and
its usage flushed, and the process exits within the grace period + 2 s.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.app import API_KEYS, auth
from tests.support.processes import RunningService, running_service
from tests.support.sse import Frame, events, parse_frames

pytestmark = pytest.mark.e2e

GRACE_S = 8.0
STARTUP_S = 90  # worker processes start in ~2 s on an idle machine, ~20 s on a loaded 2-core one
TOKEN_DELAY_MS = 300
STREAMS = 50
# Short streams must still be open at SIGTERM (sent once all 50 have their first delta) and finish within
# the grace period; long ones cannot.
SHORT = " ".join(f"s{n}" for n in range(14))  # 16 pieces: ~4.5 s after the first one
LONG = " ".join(f"l{n}" for n in range(60))  # 62 pieces: ~18 s, far beyond the grace period


@dataclass
class Received:
    """One client's view of its stream."""

    conversation_id: str
    long: bool
    body: str = ""
    first_delta: asyncio.Event = field(default_factory=asyncio.Event)
    ended_at: float = 0.0
    stream_id: str = ""

    @property
    def events(self) -> list[Frame]:
        return events(parse_frames(self.body))

    @property
    def text(self) -> str:
        return "".join(f.data["delta"] for f in self.events if f.event == "text.delta")


async def _consume(client: httpx.AsyncClient, received: Received, base: str = "") -> None:
    message = LONG if received.long else SHORT
    body = {"message": message, "conversation_id": received.conversation_id}
    async with client.stream("POST", f"{base}/v1/chat/stream", json=body, headers=auth()) as response:
        assert response.status_code == 200, await response.aread()
        received.stream_id = response.headers.get("x-stream-id", "")
        async for chunk in response.aiter_text():
            received.body += chunk
            if "event: text.delta" in received.body:
                received.first_delta.set()
    received.ended_at = time.monotonic()


def _stored(db: Path, conversation_id: str) -> list[dict[str, object]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT payload FROM conversation_items WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        ).fetchall()
    return [json.loads(payload) for (payload,) in rows]


def _usage(db: Path) -> dict[str, list[str]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT conversation_id, status FROM usage_records").fetchall()
    usage: dict[str, list[str]] = {}
    for conversation_id, status in rows:
        usage.setdefault(conversation_id, []).append(status)
    return usage


async def _probe_during_drain(service: RunningService) -> tuple[int, int, httpx.Response]:
    async with httpx.AsyncClient(base_url=service.url, timeout=5) as probe:
        deadline = time.monotonic() + 2
        ready = (await probe.get("/health/ready")).status_code
        while ready != 503 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            ready = (await probe.get("/health/ready")).status_code
        live = (await probe.get("/health/live")).status_code
        refused = await probe.post("/v1/chat/stream", json={"message": "too late"}, headers=auth())
    return ready, live, refused


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_drains_50_open_streams(tmp_path: Path, workers: int) -> None:
    """With 2 workers uvicorn's parent process forwards SIGTERM to each worker, which drains on its own."""
    env = {
        "SWITCHBOARD_API_KEYS": API_KEYS,
        "SWITCHBOARD_DRAIN_GRACE_S": str(GRACE_S),
        "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": str(TOKEN_DELAY_MS),
        "SWITCHBOARD_SSE_HEARTBEAT_S": "1",
        "SWITCHBOARD_LOG_LEVEL": "INFO",
    }
    var_dir = tmp_path / "var"
    streams = [Received(f"drain-{n}", long=n % 2 == 0) for n in range(STREAMS)]
    workers_args = ("--workers", str(workers))
    with running_service(env, var_dir=var_dir, args=workers_args, timeout_s=STARTUP_S) as service:
        # ready answers as soon as one worker serves; a worker still starting at SIGTERM has nothing to
        # drain and logs no drain, so wait until every worker has started
        await _every_worker_started(service, workers)
        limits = httpx.Limits(max_connections=STREAMS + 5)
        async with httpx.AsyncClient(base_url=service.url, timeout=60, limits=limits) as client:
            tasks = [asyncio.create_task(_consume(client, r)) for r in streams]
            await asyncio.wait_for(asyncio.gather(*(r.first_delta.wait() for r in streams)), 30)
            sigterm_at = time.monotonic()
            service.process.send_signal(signal.SIGTERM)
            ready, live, refused = await _probe_during_drain(service)
            await asyncio.wait_for(asyncio.gather(*tasks), GRACE_S + 5)
        exit_code = await asyncio.to_thread(service.process.wait, GRACE_S + 5)
        exited_after = time.monotonic() - sigterm_at
        print(f"workers={workers}: exited {exited_after:.2f} s after SIGTERM (grace {GRACE_S} s)")
        log = service.log(1_000_000)
    tail = log[-3000:]

    assert (ready, live) == (503, 200), tail
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "shutting_down" and refused.json()["retryable"] is True
    assert exited_after <= GRACE_S + 2, (exited_after, tail)
    assert exit_code in (0, -signal.SIGTERM), tail

    db = var_dir / "switchboard.db"
    usage = _usage(db)
    for r in streams:
        assert r.ended_at > sigterm_at, f"{r.conversation_id} was not open at SIGTERM"
        seen = r.events
        terminals = [f for f in seen if f.event in ("run.completed", "run.failed")]
        assert len(terminals) == 1 and seen[-1] is terminals[0], (r.conversation_id, r.body[-500:])
        assert [f.id for f in seen] == list(range(1, len(seen) + 1))
        items = _stored(db, r.conversation_id)
        assert [i["type"] for i in items] == ["user_message", "assistant_message"], items
        answer = items[-1]
        if r.long:
            assert terminals[0].event == "run.failed"
            error = terminals[0].data["error"]
            assert (error["code"], error["retryable"]) == ("shutting_down", True)
            assert answer["status"] == "cancelled" and answer["text"] == r.text  # the partial turn
            assert usage.get(r.conversation_id) == ["cancelled"]
        else:
            assert terminals[0].event == "run.completed"
            assert answer["status"] == "completed" and answer["text"] == f"You said: {SHORT}"
            assert usage.get(r.conversation_id) == ["completed"]
    finished = [json.loads(line) for line in log.splitlines() if '"drain.finished"' in line]
    assert len(finished) == workers, tail  # one drain per worker process
    assert sum(f["stopped"] for f in finished) == STREAMS // 2, tail  # the long streams, cut
    assert all(f["unfinished"] == 0 for f in finished), tail


async def _every_worker_started(service: RunningService, workers: int) -> None:
    deadline = time.monotonic() + STARTUP_S
    while service.log(1_000_000).count('"Application startup complete."') < workers:
        assert time.monotonic() < deadline, service.log(3000)
        await asyncio.sleep(0.1)


async def _follow(client: httpx.AsyncClient, url: str, into: Received) -> None:
    headers = {**auth(), "Last-Event-ID": "0"}
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for chunk in response.aiter_text():
            into.body += chunk
            if "event: text.delta" in into.body:
                into.first_delta.set()
    into.ended_at = time.monotonic()


def _ends_with_one_shutdown_failure(received: Received) -> None:
    seen = received.events
    assert [f.id for f in seen] == list(range(1, len(seen) + 1)), received.body[-500:]
    terminals = [f for f in seen if f.event in ("run.completed", "run.failed")]
    assert len(terminals) == 1 and seen[-1] is terminals[0], received.body[-500:]
    assert terminals[0].data["error"]["code"] == "shutting_down"


@pytest.mark.services
async def test_followers_on_another_instance_end_cleanly(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Instance A runs two resumable streams (one client gone, so the run is detached; one connected);
    instance B follows both through the shared Redis stream log. A drains: both runs end with one
    ``run.failed`` written to the log, so B's followers end cleanly with it; the partial turns are stored."""
    import redis

    shared_redis = redis_url.rsplit("/", 1)[0] + "/13"  # a database of its own, emptied first and after
    redis.Redis.from_url(shared_redis).flushdb()
    grace = 3.0
    env = {
        "SWITCHBOARD_API_KEYS": API_KEYS,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": shared_redis,
        "SWITCHBOARD_STREAM_RESUME_TTL_S": "120",
        "SWITCHBOARD_DRAIN_GRACE_S": str(grace),
        "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": str(TOKEN_DELAY_MS),
        "SWITCHBOARD_SSE_HEARTBEAT_S": "1",
    }
    detached, live = Received("follow-detached", long=True), Received("follow-live", long=True)
    followers = {
        "detached": Received("follow-detached", long=True),
        "live": Received("follow-live", long=True),
    }
    try:
        with (
            running_service(env, var_dir=tmp_path / "a", timeout_s=STARTUP_S) as a,
            running_service(env, var_dir=tmp_path / "b", timeout_s=STARTUP_S) as b,
        ):
            async with httpx.AsyncClient(timeout=60) as client:
                body = {"message": LONG, "conversation_id": detached.conversation_id}
                async with client.stream(
                    "POST", f"{a.url}/v1/chat/stream", json=body, headers=auth()
                ) as response:
                    detached_id = response.headers["x-stream-id"]
                    async for chunk in response.aiter_text():
                        if "event: text.delta" in chunk:
                            break  # the client goes away: the run goes on, detached
                live_task = asyncio.create_task(_consume(client, live, base=a.url))
                await asyncio.wait_for(live.first_delta.wait(), 10)
                live_id = live.stream_id
                tasks = [
                    asyncio.create_task(_follow(client, f"{b.url}/v1/chat/stream/{sid}", followers[name]))
                    for name, sid in (("detached", detached_id), ("live", live_id))
                ]
                await asyncio.wait_for(
                    asyncio.gather(*(f.first_delta.wait() for f in followers.values())), 10
                )
                sigterm_at = time.monotonic()
                a.process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(asyncio.gather(live_task, *tasks), grace + 5)
                a_exit = await asyncio.to_thread(a.process.wait, grace + 5)
                exited_after = time.monotonic() - sigterm_at
                assert (await client.get(f"{b.url}/health/ready")).status_code == 200
                stored = {
                    r.conversation_id: (
                        await client.get(f"{b.url}/v1/conversations/{r.conversation_id}", headers=auth())
                    ).json()["items"]
                    for r in (detached, live)
                }
    finally:
        redis.Redis.from_url(shared_redis).flushdb()

    assert exited_after <= grace + 2 and a_exit in (0, -signal.SIGTERM), a.log()
    for received in (live, *followers.values()):
        _ends_with_one_shutdown_failure(received)
    same = [[(f.id, f.event, f.data) for f in r.events] for r in (followers["live"], live)]
    assert same[0] == same[1]  # the follower saw the very frames the connected client saw
    for items in stored.values():
        assert [i["type"] for i in items] == ["user_message", "assistant_message"]
        assert items[-1]["status"] == "cancelled"
