"""compose's nginx configuration (deploy/compose/nginx.conf), run for real in front of two real service
processes on 127.0.0.1: streams pass through frame by frame, and while one replica drains, new streams are
answered by the other (its 503 ``shutting_down`` is retried by nginx), so a restart is invisible to new
requests. Skipped with a message when nginx is not installed (Debian package ``nginx``)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.app import API_KEYS, REPO, auth, free_port
from tests.support.processes import RunningService, running_service
from tests.support.sse import events, parse_frames

pytestmark = pytest.mark.e2e
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _render(conf: str, listen: int, upstreams: list[str], prefix: Path) -> str:
    """The compose config with the replicas' and the proxy's addresses of this test, files under prefix."""
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    for name, address in zip(("switchboard-1:8000", "switchboard-2:8000"), upstreams, strict=True):
        conf = conf.replace(f"server {name}", f"server {address}")
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {prefix}/nginx.pid;")
    conf = conf.replace("access_log /dev/stdout;", f"access_log {prefix}/access.log;")
    conf = conf.replace("error_log /dev/stderr warn;", f"error_log {prefix}/error.log warn;")
    assert "switchboard-" not in conf
    return conf


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RunningService, RunningService]]:
    """nginx on the compose config in front of two replicas; the drain test (last) stops replica one."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx): the proxy test needs the real server")
    env = {
        "SWITCHBOARD_API_KEYS": API_KEYS,
        "SWITCHBOARD_DRAIN_GRACE_S": "4",
        "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": "150",
        "SWITCHBOARD_SSE_HEARTBEAT_S": "1",
    }
    tmp_path = tmp_path_factory.mktemp("proxy")
    with (
        running_service(env, var_dir=tmp_path / "one") as one,
        running_service(env, var_dir=tmp_path / "two") as two,
    ):
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        port = free_port()
        upstreams = [s.url.removeprefix("http://") for s in (one, two)]
        conf = prefix / "nginx.conf"
        conf.write_text(_render((REPO / "deploy/compose/nginx.conf").read_text(), port, upstreams, prefix))
        with (prefix / "stderr.log").open("wb") as stderr:
            proxy = subprocess.Popen(
                [NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 10
            while True:
                assert proxy.poll() is None, (prefix / "stderr.log").read_text()
                try:
                    if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "nginx did not come up"
                time.sleep(0.1)
            yield base, one, two
        finally:
            proxy.send_signal(signal.SIGQUIT)
            try:
                proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait()


def test_a_stream_passes_through_the_proxy_frame_by_frame(
    stack: tuple[str, RunningService, RunningService],
) -> None:
    base, _, _ = stack
    message = " ".join(f"w{n}" for n in range(12))  # 14 pieces, 150 ms apart: ~2 s
    body, first_delta_at = "", None
    started = time.monotonic()
    with httpx.stream(
        "POST", f"{base}/v1/chat/stream", json={"message": message}, headers=auth(), timeout=30
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_text():
            body += chunk
            if first_delta_at is None and "event: text.delta" in body:
                first_delta_at = time.monotonic() - started
    ended_at = time.monotonic() - started
    seen = events(parse_frames(body))
    assert seen[-1].event == "run.completed"
    deltas = [f.data["delta"] for f in seen if f.event == "text.delta"]
    # 14 pieces from the provider; the output guardrails may hold a piece back and release it in two parts
    assert len(deltas) >= 14
    assert "".join(deltas) == seen[-1].data["output"]
    assert first_delta_at is not None and first_delta_at < ended_at - 1.0  # not held back by the proxy


def test_new_streams_go_to_the_other_replica_while_one_drains(
    stack: tuple[str, RunningService, RunningService],
) -> None:
    base, one, _ = stack
    with httpx.stream(
        "POST",
        f"{one.url}/v1/chat/stream",
        json={"message": "keep me busy " * 20},
        headers=auth(),
        timeout=30,
    ) as busy:  # an open stream keeps replica one draining for its grace period
        assert busy.status_code == 200
        chunks = busy.iter_text()
        first = next(chunks)  # the run has begun (headers alone can precede it): now it is open work
        one.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 3
        while httpx.get(f"{one.url}/health/ready", timeout=2).status_code != 503:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        statuses, endings = [], []
        for n in range(6):  # round robin sends every other one to the draining replica first
            answer = httpx.post(
                f"{base}/v1/chat/stream",
                json={"message": f"during the drain {n}"},
                headers=auth(),
                timeout=30,
            )
            statuses.append(answer.status_code)
            endings.append(events(parse_frames(answer.text))[-1].event if answer.status_code == 200 else None)
        rest = first + "".join(chunks)
    assert statuses == [200] * 6
    assert endings == ["run.completed"] * 6
    assert events(parse_frames(rest))[-1].event in ("run.completed", "run.failed")
