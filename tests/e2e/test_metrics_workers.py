"""``switchboard serve --workers 2`` with metrics on: every scrape, whichever worker answers it, counts the
calls of both workers (prometheus-client multiprocess mode), and a previous run's files are not counted."""

from __future__ import annotations

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
    }
    with running_service(env, var_dir=var_dir, args=("--workers", "2"), timeout_s=60) as service:
        for n in range(CALLS):
            async with httpx.AsyncClient(base_url=service.url) as http:  # new connections: both workers
                answer = await http.post(
                    "/v1/chat", json={"message": f"turn {n}"}, headers={"Authorization": "Bearer key-a"}
                )
                assert answer.status_code == 200, service.log()
        scrapes = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=service.url) as http:
                scrapes.append(completed_chat_calls((await http.get("/metrics")).text))
    assert scrapes == [CALLS] * 6
    assert not stale.exists()
