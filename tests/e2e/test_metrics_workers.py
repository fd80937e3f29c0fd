"""``switchboard serve --workers 2`` with metrics on: every scrape, whichever worker answers it, counts the
calls of both workers (prometheus-client multiprocess mode), and a previous run's files are not counted.

Without multiprocess mode this fails: concurrent turns spread over both workers (8 and 8 here), and a
scrape shows only its own worker's count."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import running_service

pytestmark = pytest.mark.e2e
CALLS = 16


def completed_chat_calls(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "switchboard_calls_total" and s.labels.get("outcome") == "completed"
    )


async def test_two_workers_are_summed_in_every_scrape(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    stale = var_dir / "prometheus" / "counter_99999.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over from a previous run")
    env = {
        "SWITCHBOARD_API_KEYS": "key-a:tenant-a:chat",
        "SWITCHBOARD_METRICS": "true",
        "SWITCHBOARD_METRICS_AUTH": "none",
        "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": "30",  # turns overlap: both workers take some
    }
    with running_service(env, var_dir=var_dir, args=("--workers", "2"), timeout_s=90) as service:

        async def turn(n: int) -> httpx.Response:
            async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:  # a connection each
                return await http.post(
                    "/v1/chat", json={"message": f"turn {n}"}, headers={"Authorization": "Bearer key-a"}
                )

        answers = await asyncio.gather(*(turn(n) for n in range(CALLS)))
        assert [a.status_code for a in answers] == [200] * CALLS, service.log()
        scrapes = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=service.url) as http:
                scrapes.append(completed_chat_calls((await http.get("/metrics")).text))
    assert scrapes == [CALLS] * 6
    assert not stale.exists()
