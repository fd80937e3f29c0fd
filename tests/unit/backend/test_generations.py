"""Configuration generations (backend/wiring/generations.py), the instance pool and the reload rules
(backend/wiring/reload.py), without HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import svcs

from backend.settings import Settings, load_settings
from backend.wiring.generations import Generation, Generations
from backend.wiring.instance_pool import InstancePool, instance_key
from backend.wiring.reload import config_version, restart_problems
from contracts.agents import ProviderDescriptor
from contracts.config import ConfigVersion
from contracts.providers import ProviderInstance


def _generation(number: int, closed: list[int]) -> Generation:
    async def close() -> None:
        closed.append(number)

    config = ConfigVersion(version=f"v{number}", loaded_at=datetime.now(UTC), generation=number)
    return Generation(registry=svcs.Registry(), settings=Settings(), config=config, closers=[close])


async def test_a_retired_generation_closes_when_its_last_connection_ends() -> None:
    closed: list[int] = []
    generations = Generations(_generation(1, closed))
    first = generations.enter()
    second = generations.enter()
    generations.swap(_generation(2, closed))
    assert generations.enter() is generations.current and generations.current.config.generation == 2
    generations.leave(first)
    await asyncio.sleep(0)
    assert closed == []  # one connection still runs on generation 1
    generations.leave(second)
    await asyncio.sleep(0)
    assert closed == [1]
    assert [g.config.generation for g in generations.in_use()] == [2]


async def test_an_idle_generation_closes_at_once_and_only_once() -> None:
    closed: list[int] = []
    generations = Generations(_generation(1, closed))
    old = generations.swap(_generation(2, closed))
    await asyncio.sleep(0)
    await old.aclose()
    await generations.aclose()
    assert closed == [1, 2]


async def test_shutdown_closes_generations_still_in_use() -> None:
    closed: list[int] = []
    generations = Generations(_generation(1, closed))
    generations.enter()  # a connection that never ends before shutdown
    generations.swap(_generation(2, closed))
    await generations.aclose()
    assert sorted(closed) == [1, 2]


def _instance(closed: list[str], name: str) -> ProviderInstance:
    async def aclose() -> None:
        closed.append(name)

    descriptor = ProviderDescriptor(name=name, kind="scripted", default_model="m")
    return ProviderInstance(descriptor=descriptor, model=None, aclose=aclose)  # type: ignore[arg-type]


async def test_the_pool_reuses_an_instance_with_the_same_settings_and_closes_it_after_its_last_user() -> None:
    closed: list[str] = []
    pool = InstancePool()
    key = instance_key("a", "scripted", {"x": 1})
    first = pool.acquire(key, lambda: _instance(closed, "a"))
    again = pool.acquire(instance_key("a", "scripted", {"x": 1}), lambda: _instance(closed, "a2"))
    other = pool.acquire(instance_key("a", "scripted", {"x": 2}), lambda: _instance(closed, "a-new"))
    assert again is first and other is not first and pool.built == 2
    await pool.release(key)
    assert closed == [] and pool.users(key) == 1
    await pool.release(key)
    assert closed == ["a"]
    await pool.aclose()
    assert closed == ["a", "a-new"]


def _settings(**env: str) -> Settings:
    return load_settings({"SWITCHBOARD_ENV": "test", **env}, dotenv=None, plain_variables=())


def test_restart_only_changes_are_named_and_live_ones_pass() -> None:
    running = _settings()
    live = _settings(
        SWITCHBOARD_PROVIDERS="scripted,backup",
        SWITCHBOARD_PROVIDER_BACKUP_KIND="scripted",
        SWITCHBOARD_ROUTING_RETRIES="3",
        SWITCHBOARD_HISTORY_LIMIT="7",
    )
    assert restart_problems(running, live) == []
    changed = _settings(SWITCHBOARD_DB_POOL_SIZE="3", REDIS_URL="redis://127.0.0.1:6379/0")
    assert restart_problems(running, changed) == [
        "REDIS_URL, SWITCHBOARD_DB_POOL_SIZE changed: not reconfigurable live, needs a restart"
    ]


def test_the_version_follows_settings_and_file_contents(tmp_path: Path) -> None:
    agents = tmp_path / "agents.toml"
    agents.write_text('default = "a"\n')
    settings = _settings(SWITCHBOARD_AGENTS_FILE=str(agents))
    version = config_version(settings)
    assert version == config_version(_settings(SWITCHBOARD_AGENTS_FILE=str(agents)))
    assert len(version) == 12
    assert (
        config_version(_settings(SWITCHBOARD_AGENTS_FILE=str(agents), SWITCHBOARD_HISTORY_LIMIT="3"))
        != version
    )
    agents.write_text('default = "b"\n')
    assert config_version(settings) != version
