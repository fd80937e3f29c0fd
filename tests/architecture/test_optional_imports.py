"""Telemetry libraries are imported only when their feature is on: a service built on the defaults never
imports prometheus-client, OpenTelemetry or genai-prices (the price table loads only for a vendor
instance)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.app import REPO

OPTIONAL = ("prometheus_client", "opentelemetry", "genai_prices")
CODE = """
import asyncio, json, pathlib, sys, tempfile
from backend.wiring.table import build_registry, compile_graph
from tests.support.app import make_settings
env, optional = json.loads(sys.argv[1]), json.loads(sys.argv[2])
async def main():
    registry = await build_registry(compile_graph(make_settings(pathlib.Path(tempfile.mkdtemp()), **env)))
    await registry.aclose()
asyncio.run(main())
import time; time.sleep(0.2)  # the price table loads on a thread
print(json.dumps(sorted(m for m in optional if m in sys.modules)))
"""


def imported(env: dict[str, str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", CODE, json.dumps(env), json.dumps(OPTIONAL)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def test_the_defaults_import_no_telemetry_library() -> None:
    assert imported({}) == []


def test_each_library_is_imported_when_its_feature_is_on() -> None:
    env = {
        "SWITCHBOARD_METRICS": "true",
        "SWITCHBOARD_OTEL": "true",
        "SWITCHBOARD_PROVIDERS": "scripted,openai",
        "OPENAI_API_KEY": "sk-test",
    }
    assert imported(env) == sorted(OPTIONAL)


STARTUP_ONLY = ("aiohttp", "asyncpg", "svcs.aiohttp", "svcs.starlette")
APP_CODE = """
import json, pathlib, sys, tempfile
from backend.app import create_app
from tests.support.app import make_settings
create_app(make_settings(pathlib.Path(tempfile.mkdtemp())))
print(json.dumps(sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)))
"""


def test_the_app_on_the_defaults_imports_none_of_the_start_up_costs() -> None:
    """svcs' aiohttp and starlette integrations are skipped (backend/__init__.py), the providers' HTTP client
    is loaded only by a provider that calls out, asyncpg only for PostgreSQL."""
    out = subprocess.run(
        [sys.executable, "-c", APP_CODE, json.dumps(STARTUP_ONLY)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_svcs_integrations_stay_importable_on_request() -> None:
    code = "import backend, svcs.starlette; print(svcs.starlette.__name__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svcs.starlette"
