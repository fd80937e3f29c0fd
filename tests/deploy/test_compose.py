"""compose.yaml and its nginx configuration: the stack the deployment docs promise, wired as they say.

The compose tools cannot run here (no container registry, no ``podman run``), so this checks the wiring
offline: one-shot migration before two replicas, a drain-long stop grace, nginx configured for SSE, and
only variables the service reads.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from backend.settings import _reads_variable, kinds_plain_variables, load_settings
from tests.support.app import REPO

COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
REPLICAS = ["switchboard-1", "switchboard-2"]
NGINX = (REPO / "deploy/compose/nginx.conf").read_text()


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match.group(1))


def test_the_stack_has_its_stores_a_one_shot_migration_two_replicas_and_a_proxy() -> None:
    assert set(SERVICES) == {"postgres", "redis", "migrate", *REPLICAS, "proxy"}
    migrate = SERVICES["migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in REPLICAS:
        replica = SERVICES[name]
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert replica["environment"]["SWITCHBOARD_MIGRATE_ON_START"] == "false"
        assert "/health/ready" in " ".join(replica["healthcheck"]["test"])
        assert SERVICES["proxy"]["depends_on"][name]["condition"] == "service_healthy"


def test_replicas_get_longer_than_the_drain_to_stop() -> None:
    default_grace = load_settings({}, dotenv=None).server.drain_grace_s
    configured = SERVICES["switchboard-1"]["environment"]["SWITCHBOARD_DRAIN_GRACE_S"]
    assert configured == f"${{SWITCHBOARD_DRAIN_GRACE_S:-{default_grace:g}}}"  # the service's default
    for name in REPLICAS:
        assert _seconds(SERVICES[name]["stop_grace_period"]) >= default_grace + 10


def test_replicas_and_the_example_env_use_only_variables_the_service_reads() -> None:
    names = [n.removesuffix("_FILE") for n in SERVICES["switchboard-1"]["environment"]]
    example = (REPO / ".env.example").read_text().splitlines()
    names += [line.split("=", 1)[0] for line in example if line and not line.startswith("#")]
    assert [
        n for n in names if not _reads_variable(n, kinds_plain_variables()) and n != "POSTGRES_PASSWORD"
    ] == []


def test_nginx_passes_streams_through_unbuffered_to_both_replicas() -> None:
    directives = {line.strip().rstrip(";") for line in NGINX.splitlines()}
    assert "proxy_buffering off" in directives
    assert "proxy_http_version 1.1" in directives
    assert 'proxy_set_header Connection ""' in directives  # keep-alive to the upstreams
    timeouts = [int(v) for v in re.findall(r"proxy_read_timeout (\d+)s", NGINX)]
    assert timeouts and min(timeouts) >= 3600  # far above SWITCHBOARD_SSE_HEARTBEAT_S
    assert "proxy_next_upstream error timeout http_503 non_idempotent" in directives
    for name in REPLICAS:
        assert f"server {name}:8000 max_fails=0" in directives
