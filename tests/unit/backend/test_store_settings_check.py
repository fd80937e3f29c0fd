"""``DATABASE_URL`` and ``REDIS_URL`` problems name the variable, with the password masked: at compile time
(not a URL, an unsupported driver), when checking (unreachable), and when serving (startup)."""

from __future__ import annotations

import pytest

from backend.settings import ConfigError, load_settings
from backend.wiring.stores import reachability_problems
from backend.wiring.table import build_registry, compile_graph

UNREACHABLE = "postgresql+asyncpg://sb:pw@127.0.0.1:1/db"


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({"SWITCHBOARD_ENV": "test", "SWITCHBOARD_API_KEYS": "k:t:chat", **env}, dotenv=None)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("notaurl", "not a database URL"), ("mysql://x@h/db", "driver 'mysql' is not supported")],
)
def test_a_bad_database_url_is_a_configuration_error(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as error:
        compile_graph(settings(DATABASE_URL=url))
    assert f"DATABASE_URL: {reason}" in str(error.value)


def test_a_bad_redis_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="REDIS_URL: must start with redis://"):
        compile_graph(settings(REDIS_URL="localhost:6379"))


async def test_an_unreachable_database_is_named_with_its_password_masked() -> None:
    [problem] = await reachability_problems(settings(DATABASE_URL=UNREACHABLE))
    assert problem.startswith("DATABASE_URL: cannot reach postgresql+asyncpg://sb:***@127.0.0.1:1/db (")
    assert "pw@" not in problem


async def test_serving_with_an_unreachable_database_stops_naming_it(tmp_path: object) -> None:
    with pytest.raises(ConfigError) as error:
        await build_registry(compile_graph(settings(DATABASE_URL=UNREACHABLE)))
    assert str(error.value).startswith(
        "DATABASE_URL: cannot reach postgresql+asyncpg://sb:***@127.0.0.1:1/db"
    )
