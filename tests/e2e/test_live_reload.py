"""Live reconfiguration of a real ``switchboard serve`` process (backend/wiring/reload.py).

Each test runs the service in a temporary directory whose ``.env`` it rewrites, then asks for a reload by
SIGHUP, by ``POST /v1/admin/reload`` or by ``switchboard reload``: a provider added to ``.env`` is served
by the same process; a stream keeps the configuration it started with while new requests get the new one;
a broken ``.env`` or routes file is refused with ``switchboard check``'s line and the old configuration
keeps serving; with two worker processes each reloads; no request fails while the service reloads.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import _clean_env
from tests.support.reloading import (
    BACKUP,
    OPERATOR,
    SETTLE_S,
    STREAM_S,
    bearer,
    chat,
    mock,
    openai_instance,
    received,
    serving,
    stream_chat,
)
from tests.support.sse import events, parse_frames

pytestmark = pytest.mark.e2e


def test_sighup_serves_a_provider_added_to_env_in_the_same_process(tmp_path: Path) -> None:
    with serving(tmp_path, process_env={"SWITCHBOARD_DEFAULT_PROVIDER": "scripted"}) as service:
        before = service.providers()
        assert service.names() == ["scripted"] and before["config"]["generation"] == 1
        # the process environment keeps precedence: .env cannot move the default away from it
        service.write_env(**BACKUP, SWITCHBOARD_DEFAULT_PROVIDER="backup")
        service.process.popen.send_signal(signal.SIGHUP)
        after = service.wait_for(["scripted", "backup"])
        assert service.process.alive()
        assert after["default"] == "scripted"
        assert after["config"]["generation"] == 2
        assert after["config"]["version"] != before["config"]["version"]
        assert after["config"]["loaded_at"] > before["config"]["loaded_at"]
        answer = chat(service, provider="backup")
        assert answer.status_code == 200 and answer.json()["provider"] == "backup"
        assert '"config.reloaded"' in service.log() and '"source":"SIGHUP"' in service.log()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {**BACKUP, "SWITCHBOARD_PROVIDER_BACKUP_KIND": "nosuch"},
            "provider 'backup' has unknown kind 'nosuch'",
        ),
        ({"SWITCHBOARD_DEFAULT_PROVDER": "scripted"}, "did you mean SWITCHBOARD_DEFAULT_PROVIDER?"),
        ({"SWITCHBOARD_ROUTES_FILE": "ROUTES"}, "SWITCHBOARD_ROUTES_FILE"),
    ],
    ids=["unknown-kind", "misspelt-variable", "invalid-routes-file"],
)
def test_a_broken_configuration_is_refused_and_the_old_one_keeps_serving(
    tmp_path: Path, change: dict[str, str], reason: str
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text("[[routes]]\nname = 'fast'\ndeployments = [ { provider = 'nowhere' } ]\n")
    change = {k: (str(routes) if v == "ROUTES" else v) for k, v in change.items()}
    with serving(tmp_path) as service:
        before = service.providers()
        service.write_env(**change)
        check = subprocess.run(
            [sys.executable, "-m", "ops", "check", "--offline"],
            cwd=tmp_path,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 2
        line = check.stderr.strip().splitlines()[-1].removeprefix("switchboard: configuration error: ")
        assert reason in line

        refused = service.reload_cli()
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.strip() == f"switchboard: reload refused (422): {line}"

        service.process.popen.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + SETTLE_S
        while service.log().count('"config.reload_refused"') < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        refusals = [json.loads(x) for x in service.log().splitlines() if '"config.reload_refused"' in x]
        assert [r["source"] for r in refusals] == ["http", "SIGHUP"]
        assert all(r["reason"] == line for r in refusals)

        assert service.providers() == before
        assert chat(service).status_code == 200
        service.write_env()  # fixed again: nothing changed, so nothing is swapped
        assert "configuration unchanged" in service.reload_cli().stdout


def test_an_open_stream_finishes_on_a_provider_a_reload_removed(tmp_path: Path) -> None:
    with mock(tmp_path, "slow-mock", "--token-delay-ms", "150") as slow_url:
        with serving(
            tmp_path, {"SWITCHBOARD_PROVIDERS": "scripted,slow", **openai_instance("slow", slow_url)}
        ) as service:
            words = " ".join(f"w{n}" for n in range(16))

            async def scenario() -> str:
                started = asyncio.Event()
                body = {"message": words, "provider": "slow"}
                stream = asyncio.create_task(stream_chat(service.url, body, started))
                await asyncio.wait_for(started.wait(), 30)
                service.write_env(SWITCHBOARD_PROVIDERS="scripted")
                service.process.popen.send_signal(signal.SIGHUP)
                await asyncio.to_thread(service.wait_for, ["scripted"])
                assert not stream.done()  # the reload happened while the stream was open
                return await asyncio.wait_for(stream, STREAM_S)

            text = asyncio.run(scenario())
            frames = events(parse_frames(text))
            assert frames[-1].event == "run.completed"
            assert "w15" in "".join(f.data["delta"] for f in frames if f.event == "text.delta")
            refused = chat(service, provider="slow")
            assert refused.status_code == 422 and "not enabled" in refused.json()["detail"]
            answer = chat(service)
            assert answer.status_code == 200 and answer.json()["provider"] == "scripted"
            assert received(slow_url) == 1


def test_a_changed_base_url_takes_effect_for_new_requests_only(tmp_path: Path) -> None:
    with (
        mock(tmp_path, "mock-a", "--token-delay-ms", "150") as first,
        mock(tmp_path, "mock-b") as second,
        serving(tmp_path, {"SWITCHBOARD_PROVIDERS": "up", **openai_instance("up", first)}) as service,
    ):
        assert chat(service).status_code == 200
        assert (received(first), received(second)) == (1, 0)

        async def scenario() -> str:
            started = asyncio.Event()
            stream = asyncio.create_task(
                stream_chat(service.url, {"message": "a b c d e f g h i j"}, started)
            )
            await asyncio.wait_for(started.wait(), 30)
            service.write_env(**openai_instance("up", second))
            reloaded = await asyncio.to_thread(service.reload_cli)
            assert reloaded.returncode == 0 and "configuration applied" in reloaded.stdout, reloaded.stderr
            answer = await asyncio.to_thread(chat, service)
            assert answer.status_code == 200 and not stream.done()
            return await asyncio.wait_for(stream, STREAM_S)

        text = asyncio.run(scenario())
        assert events(parse_frames(text))[-1].event == "run.completed"
        assert (received(first), received(second)) == (2, 1)  # the stream stayed on the old URL


def test_two_workers_each_reload_on_sighup_and_on_the_admin_route(tmp_path: Path) -> None:
    with serving(tmp_path, workers=2) as service:
        service.write_env(**BACKUP)
        service.process.popen.send_signal(signal.SIGHUP)  # to the parent, which forwards it to each worker
        first = service.wait_for(["scripted", "backup"], samples=20)
        assert service.process.alive()
        service.write_env(**{**BACKUP, "SWITCHBOARD_PROVIDERS": "backup,scripted"})
        response = httpx.post(f"{service.url}/v1/admin/reload", headers=bearer(OPERATOR), timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["outcome"] == "applied" and response.json()["workers_signalled"] is True
        second = service.wait_for(["backup", "scripted"], samples=20)
        assert second["config"]["version"] != first["config"]["version"]
        # each worker logs its own outcome: both on SIGHUP; then the one the route reached (http), and the
        # other one on the SIGHUP the parent forwarded (the first one finds its configuration unchanged)
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            reloaded = [json.loads(x) for x in service.log().splitlines() if '"config.reloaded"' in x]
            if len(reloaded) >= 4:
                break
            time.sleep(0.05)
        assert sorted(r["source"] for r in reloaded) == ["SIGHUP", "SIGHUP", "SIGHUP", "http"]


def test_no_request_fails_while_the_service_reloads(tmp_path: Path) -> None:
    with serving(tmp_path) as service:

        async def scenario() -> tuple[list[int], list[str]]:
            statuses: list[int] = []
            outcomes: list[str] = []
            async with httpx.AsyncClient(base_url=service.url, headers=bearer(), timeout=30) as client:

                async def requests(count: int) -> None:
                    for n in range(count):
                        if n % 5 == 0:
                            response = await client.post("/v1/chat/stream", json={"message": "hi"})
                            ok = response.status_code == 200 and "event: run.completed" in response.text
                            statuses.append(200 if ok else response.status_code)
                        else:
                            statuses.append(
                                (await client.post("/v1/chat", json={"message": "hi"})).status_code
                            )

                async def reloads() -> None:
                    for n in range(5):
                        await asyncio.sleep(0.2)
                        service.write_env(**(BACKUP if n % 2 == 0 else {}))
                        answer = await client.post("/v1/admin/reload", headers=bearer(OPERATOR))
                        assert answer.status_code == 200, answer.text
                        outcomes.append(answer.json()["outcome"])

                await asyncio.gather(*(requests(25) for _ in range(8)), reloads())
            return statuses, outcomes

        statuses, outcomes = asyncio.run(scenario())
        assert len(statuses) == 200 and set(statuses) == {200}
        assert outcomes == ["applied"] * 5
        assert service.providers()["config"]["generation"] == 6
