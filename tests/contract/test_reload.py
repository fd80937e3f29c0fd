"""``POST /v1/admin/reload`` in-process: operator scope, applied and refused reloads, the configuration's
version in ``GET /v1/providers``, provider instances reused across generations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import svcs
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import ConfigError, Settings
from backend.wiring.instance_pool import InstancePool
from backend.wiring.table import compile_graph
from tests.support.app import API_KEYS, KEY_A, KEY_A_ADMIN, auth, make_settings

OPERATOR = "key-operator"
KEYS = f"{API_KEYS},{OPERATOR}:ops:operator"
BACKUP = {"SWITCHBOARD_PROVIDERS": "scripted,backup", "SWITCHBOARD_PROVIDER_BACKUP_KIND": "scripted"}


class Config:
    """The configuration 'on disk' that a reload reads: the test edits ``env``."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.env: dict[str, str] = {"SWITCHBOARD_API_KEYS": KEYS}
        self.registry: svcs.Registry | None = None

    def load(self) -> Settings:
        return make_settings(self.tmp_path, **self.env)

    def pool(self) -> InstancePool:
        assert self.registry is not None
        with svcs.Container(self.registry) as container:
            return container.get(InstancePool)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(tmp_path)


@pytest.fixture
async def client(config: Config) -> AsyncIterator[AsyncTestClient[Any]]:
    def keep(registry: svcs.Registry) -> None:
        config.registry = registry

    app = create_app(config.load(), configure=keep, reload_settings=config.load)
    async with AsyncTestClient(app, base_url="http://testserver.local") as c:
        yield c


async def _providers(client: AsyncTestClient[Any]) -> dict[str, Any]:
    response = await client.get("/v1/providers", headers=auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _reload(client: AsyncTestClient[Any], key: str = OPERATOR) -> Any:
    return await client.post("/v1/admin/reload", headers=auth(key))


async def test_reload_needs_the_operator_scope(client: AsyncTestClient[Any]) -> None:
    assert (await _reload(client, KEY_A)).status_code == 403
    assert (await _reload(client, KEY_A_ADMIN)).status_code == 403
    assert (await client.post("/v1/admin/reload")).status_code == 401
    response = await _reload(client)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "unchanged"


async def test_an_added_provider_is_served_by_a_new_generation_reusing_unchanged_instances(
    client: AsyncTestClient[Any], config: Config
) -> None:
    before = await _providers(client)
    assert [p["name"] for p in before["data"]] == ["scripted"]
    assert before["config"]["generation"] == 1 and len(before["config"]["version"]) == 12
    assert config.pool().built == 1

    config.env |= BACKUP
    response = await _reload(client)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["outcome"] == "applied" and result["previous_version"] == before["config"]["version"]

    after = await _providers(client)
    assert [p["name"] for p in after["data"]] == ["scripted", "backup"]
    assert after["config"] == result["config"]
    assert after["config"]["generation"] == 2 and after["config"]["version"] != before["config"]["version"]
    pool = config.pool()
    assert pool.built == 2  # only 'backup' was built; 'scripted' was handed over
    assert {key[0]: pool.users(key) for key in pool.held()} == {"scripted": 1, "backup": 1}
    chat = await client.post("/v1/chat", json={"message": "hi", "provider": "backup"}, headers=auth())
    assert chat.status_code == 200, chat.text
    assert chat.json()["provider"] == "backup"

    del config.env["SWITCHBOARD_PROVIDER_BACKUP_KIND"]
    config.env["SWITCHBOARD_PROVIDERS"] = "scripted"
    assert (await _reload(client)).json()["outcome"] == "applied"
    for _ in range(100):  # the retired generation closes in a task of its own
        if len(config.pool().held()) == 1:
            break
        await asyncio.sleep(0.01)
    assert [key[0] for key in config.pool().held()] == ["scripted"]  # 'backup' closed with its generation
    gone = await client.post("/v1/chat", json={"message": "hi", "provider": "backup"}, headers=auth())
    assert gone.status_code == 422


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {**BACKUP, "SWITCHBOARD_PROVIDER_BACKUP_KIND": "nosuch"},
            "provider 'backup' has unknown kind 'nosuch'",
        ),
        ({"SWITCHBOARD_DB_POOL_SIZE": "3"}, "SWITCHBOARD_DB_POOL_SIZE changed: not reconfigurable live"),
        ({"SWITCHBOARD_ROUTING_RETRIES": "many"}, "SWITCHBOARD_ROUTING_RETRIES"),
    ],
)
async def test_an_invalid_configuration_is_refused_and_the_running_one_stays(
    client: AsyncTestClient[Any], config: Config, change: dict[str, str], expected: str
) -> None:
    before = await _providers(client)
    config.env |= change
    response = await _reload(client)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "config_rejected" and expected in problem["detail"]
    assert "\n" not in problem["detail"]
    assert await _providers(client) == before
    chat = await client.post("/v1/chat", json={"message": "hi"}, headers=auth())
    assert chat.status_code == 200


async def test_a_refusal_says_what_switchboard_check_says(
    client: AsyncTestClient[Any], config: Config
) -> None:
    config.env |= {**BACKUP, "SWITCHBOARD_PROVIDER_BACKUP_BASE_URL": "http://x"}
    with pytest.raises(ConfigError) as check:
        compile_graph(config.load())
    response = await _reload(client)
    assert response.status_code == 422
    assert response.json()["detail"] == str(check.value)


async def test_a_reload_keeps_metrics_and_budget_reservations_of_the_process(tmp_path: Path) -> None:
    """Metrics collectors, spans, prices and budget reservations belong to the process: a reload hands them
    to the new generation as they are (rebuilding the collectors would register every series twice, and
    a rebuilt in-memory budget store would forget what was spent)."""
    config = Config(tmp_path)
    config.env.update({"SWITCHBOARD_METRICS": "true", "SWITCHBOARD_BUDGET_TENANT_DAILY_USD": "5"})
    app = create_app(config.load(), reload_settings=config.load)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        assert (await client.post("/v1/chat", json={"message": "hi"}, headers=auth())).status_code == 200
        config.env.update(BACKUP)
        reloaded = await _reload(client)
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["outcome"] == "applied"
        assert (await client.post("/v1/chat", json={"message": "hi"}, headers=auth())).status_code == 200
        scraped = await client.get("/metrics", headers=auth(OPERATOR))
        assert scraped.status_code == 200, scraped.text
        calls = [
            line
            for line in scraped.text.splitlines()
            if line.startswith("switchboard_calls_total{") and 'outcome="completed"' in line
        ]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in calls) == 2  # one before, one after the reload
        config.env["SWITCHBOARD_PROVIDER_BACKUP_KIND"] = "no-such-kind"
        assert (await _reload(client)).status_code == 422
        scraped = await client.get("/metrics", headers=auth(OPERATOR))
        assert 'switchboard_config_reloads_total{outcome="applied"} 1.0' in scraped.text
        assert 'switchboard_config_reloads_total{outcome="refused"} 1.0' in scraped.text
