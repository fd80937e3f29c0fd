"""End-to-end support: the mock upstream and the service as REAL subprocesses on free 127.0.0.1 ports.

One ``Stack`` per module (started once, ~7 s): two mock upstreams (``python -m ops.mock_upstream``; the
second paces its streamed pieces with ``--token-delay-ms`` for the client-disconnect test, since the service
forwards no ``x-mock-*`` header) and one service (``python -m ops serve``) with these provider instances:

- ``scripted``: the offline default;
- ``openai``: kind openai, Responses API, on the mock;
- ``local``: kind openai, Chat Completions API, on the mock;
- ``slow`` / ``slowchat``: the two API modes on the paced mock.

The service gets an agents file written here (``AGENTS_TOML``), runs in a temporary directory (so no
``.env`` of the developer's is read) and every process is always terminated, even when startup or a
test fails. Their stdout/stderr go to files; a failing test's report carries their tails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.app import REPO, free_port

API_KEY = "e2e-key"
TENANT = "e2e"
STARTUP_TIMEOUT_S = 45.0
SLOW_TOKEN_DELAY_MS = 150

# Modes of the openai-kind instances on the fast mock: provider name -> upstream path. ``openai`` and
# ``local`` run agents in the shared tool loop; ``sdk`` and ``sdkchat`` in the OpenAI Agents SDK engine,
# over the same native codecs.
MODES = {
    "openai": "/v1/responses",
    "local": "/v1/chat/completions",
    "sdk": "/v1/responses",
    "sdkchat": "/v1/chat/completions",
}
SLOW_MODES = {"openai": "slow", "local": "slowchat", "sdk": "sdkslow", "sdkchat": "sdkslowchat"}
SDK_MODES = frozenset({"sdk", "sdkchat", "sdkslow", "sdkslowchat"})

AGENTS_TOML = """
default = "assistant"

[[agents]]
key = "assistant"
description = "General assistant with tools and a handoff."
instructions = "You are the e2e assistant. Use tools when asked."
tools = ["current_time", "calculator", "search_conversations"]
handoffs = ["concise"]

[[agents]]
key = "concise"
description = "Answers briefly."
instructions = "Answer in one short sentence."

[[agents]]
key = "router"
description = "Routes to the concise agent; runs on OpenAI unless the request names a provider."
instructions = "Hand the conversation to the right agent."
provider = "openai"
handoffs = ["concise"]

[[agents]]
key = "extractor"
description = "Structured output."
instructions = "Extract the city and count the words."
output_schema = { type = "object", properties = { city = { type = "string" }, count = { type = "integer" } }, required = ["city", "count"], additionalProperties = false }

[[agents]]
key = "moderated"
description = "Checked by the moderation policy."
instructions = "Answer politely."
guardrail_policy = "moderated"
"""


@dataclass
class Process:
    """A started subprocess whose output goes to two files."""

    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def tail(self, which: str = "stderr", chars: int = 4000) -> str:
        path = self.stderr if which == "stderr" else self.stdout
        try:
            return path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


@dataclass
class Stack:
    """The running processes and their addresses."""

    service_url: str
    mock_url: str
    slow_mock_url: str
    var_dir: Path
    processes: list[Process] = field(default_factory=list)

    def logs(self) -> str:
        parts = []
        for proc in self.processes:
            state = "running" if proc.alive() else f"exited {proc.popen.returncode}"
            parts.append(f"--- {proc.name} ({state}) stdout ---\n{proc.tail('stdout', 1500)}")
            parts.append(f"--- {proc.name} stderr ---\n{proc.tail('stderr')}")
        return "\n".join(parts)


def _spawn(name: str, args: list[str], env: dict[str, str], workdir: Path) -> Process:
    stdout, stderr = workdir / f"{name}.out", workdir / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        popen = subprocess.Popen(
            [sys.executable, *args], cwd=workdir, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
    return Process(name, popen, stdout, stderr)


def _clean_env() -> dict[str, str]:
    """The parent's environment without anything that configures the service or the SDK."""
    prefixes = ("SWITCHBOARD_", "OPENAI_", "DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_mock(proc: Process, deadline: float) -> str:
    """Wait for the mock's ``listening on <url>`` line and return the URL."""
    while time.monotonic() < deadline:
        for line in proc.tail("stdout").splitlines():
            if line.startswith("listening on "):
                return line.removeprefix("listening on ").strip()
        if not proc.alive():
            break
        time.sleep(0.05)
    raise RuntimeError(f"{proc.name} did not start:\n{proc.tail()}")


def _wait_ready(proc: Process, url: str, deadline: float) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        if not proc.alive():
            break
        try:
            response = httpx.get(f"{url}/health/ready", timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        except httpx.TransportError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise RuntimeError(
        f"service not ready ({last}); exit code {proc.popen.poll()}\n"
        f"stdout:\n{proc.tail('stdout')}\nstderr:\n{proc.tail()}"
    )


def _service_env(base: dict[str, str], tmp: Path, mock: str, slow: str) -> dict[str, str]:
    agents = tmp / "agents.toml"
    agents.write_text(AGENTS_TOML, encoding="utf-8")
    env = {
        **base,
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_API_KEYS": f"{API_KEY}:{TENANT}:chat+admin",
        "SWITCHBOARD_VAR_DIR": str(tmp / "var"),
        "SWITCHBOARD_AGENTS_FILE": str(agents),
        "SWITCHBOARD_GUARDRAILS_FILE": str(REPO / "config/guardrails.toml"),
        "SWITCHBOARD_LOG_FORMAT": "json",
        "SWITCHBOARD_PROVIDERS": "scripted,openai,local,slow,slowchat,sdk,sdkchat,sdkslow,sdkslowchat",
        "OPENAI_API_KEY": "sk-test-not-real",
        "OPENAI_BASE_URL": f"{mock}/v1",
        "SWITCHBOARD_ROUTING_RETRIES": "2",
        "SWITCHBOARD_ROUTING_RETRY_BASE_DELAY_S": "0.05",
        # faults are injected on purpose in many tests: circuits must not carry one test's failures into
        # the next (tests/e2e/test_routing_e2e.py covers circuits with its own stack)
        "SWITCHBOARD_ROUTING_FAILURES_TO_OPEN": "1000000",
        "SWITCHBOARD_ROUTING_FAILURE_RATE": "1",
        "SWITCHBOARD_ROUTING_COOLDOWN_S": "0.01",
        "SWITCHBOARD_PROVIDER_OPENAI_TIMEOUT_S": "10",
    }
    instances = {
        "LOCAL": (mock, "chat_completions"),
        "SLOW": (slow, "responses"),
        "SLOWCHAT": (slow, "chat_completions"),
        "SDK": (mock, "responses"),
        "SDKCHAT": (mock, "chat_completions"),
        "SDKSLOW": (slow, "responses"),
        "SDKSLOWCHAT": (slow, "chat_completions"),
    }
    for name, (url, mode) in instances.items():
        prefix = f"SWITCHBOARD_PROVIDER_{name}_"
        env |= {
            f"{prefix}KIND": "openai",
            f"{prefix}BASE_URL": f"{url}/v1",
            f"{prefix}API_MODE": mode,
            f"{prefix}TIMEOUT_S": "10",
        }
        if name.lower() in SDK_MODES:
            env[f"{prefix}AGENT_ENGINE"] = "agents_sdk"
    return env


@contextmanager
def running_stack(tmp: Path) -> Iterator[Stack]:
    """Start both mocks, then the service; stop all of them on exit, whatever happened."""
    base = _clean_env()
    processes: list[Process] = []
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        mock = _spawn("mock", ["-m", "ops.mock_upstream", "--port", "0", "--timeout-sleep-s", "5"], base, tmp)
        processes.append(mock)
        slow_args = ["-m", "ops.mock_upstream", "--port", "0", "--token-delay-ms", str(SLOW_TOKEN_DELAY_MS)]
        slow = _spawn("slow-mock", slow_args, base, tmp)
        processes.append(slow)
        mock_url, slow_url = _wait_mock(mock, deadline), _wait_mock(slow, deadline)
        port = free_port()
        service = _spawn(
            "service",
            ["-m", "ops", "serve", "--host", "127.0.0.1", "--port", str(port)],
            _service_env(base, tmp, mock_url, slow_url),
            tmp,
        )
        processes.append(service)
        service_url = f"http://127.0.0.1:{port}"
        _wait_ready(service, service_url, deadline)
        yield Stack(service_url, mock_url, slow_url, tmp / "var", processes)
    finally:
        for proc in reversed(processes):
            proc.stop()
