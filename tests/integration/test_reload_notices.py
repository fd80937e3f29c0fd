"""Two real instances on one Redis: a reload applied on one reaches the other by a pub/sub notice, and
each validates its own configuration and logs its own outcome (adapters/config/redis_notices.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.support.reloading import BACKUP, OPERATOR, SETTLE_S, Service, bearer, serving

pytestmark = pytest.mark.services

DB = 13  # a Redis database of its own: notices are scoped by it (pub/sub ignores the database)


def _logged(service: Service, event: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + SETTLE_S
    while True:
        found = [json.loads(x) for x in service.log().splitlines() if f'"{event}"' in x]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_reload_on_one_instance_reaches_the_other_which_validates_its_own(
    redis_url: str, tmp_path: Path
) -> None:
    import redis

    shared = {"REDIS_URL": redis_url.rsplit("/", 1)[0] + f"/{DB}"}
    redis.Redis.from_url(shared["REDIS_URL"]).flushdb()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with serving(tmp_path / "a", shared) as first, serving(tmp_path / "b", shared) as second:
        first.write_env(**BACKUP)
        second.write_env(**BACKUP)
        response = httpx.post(f"{first.url}/v1/admin/reload", headers=bearer(OPERATOR), timeout=30)
        assert response.status_code == 200 and response.json()["outcome"] == "applied", response.text
        assert second.wait_for(["scripted", "backup"])["config"]["generation"] == 2
        assert [r["source"] for r in _logged(second, "config.reloaded", 1)] == ["redis"]

        # the second instance's own files are broken: it refuses and keeps serving what it had
        second.write_env(**{**BACKUP, "SWITCHBOARD_PROVIDER_BACKUP_KIND": "nosuch"})
        first.write_env()
        response = httpx.post(f"{first.url}/v1/admin/reload", headers=bearer(OPERATOR), timeout=30)
        assert response.status_code == 200 and response.json()["outcome"] == "applied", response.text
        refused = _logged(second, "config.reload_refused", 1)
        assert [(r["source"], r["reason"]) for r in refused] == [
            (
                "redis",
                "provider 'backup' has unknown kind 'nosuch' (set SWITCHBOARD_PROVIDER_BACKUP_KIND to "
                "one of anthropic, openai, scripted)",
            )
        ]
        assert first.names() == ["scripted"] and second.names() == ["scripted", "backup"]
        # the first instance ignores its own notices
        assert all(r["source"] == "http" for r in _logged(first, "config.reloaded", 2))
    redis.Redis.from_url(shared["REDIS_URL"]).flushdb()
