"""Start and stop the service as a real subprocess on a free 127.0.0.1 port.

The child gets a clean environment (no inherited ``SWITCHBOARD_*``, ``DATABASE_URL``, ``REDIS_URL``,
``OPENAI_*``), runs in a temporary directory (so no ``.env`` is read) with its own ``SWITCHBOARD_VAR_DIR``,
and is started in its own session so that stopping it (SIGTERM, then SIGKILL after a grace period) reaches
uvicorn's worker processes too and nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
API_KEY = "bench-key"
AUTH_HEADER = {"Authorization": f"Bearer {API_KEY}"}
_DROPPED = ("SWITCHBOARD_", "OPENAI_", "DATABASE_URL", "REDIS_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def service_env(
    var_dir: Path, extra: Mapping[str, str] | None = None, *, repo: Path = REPO
) -> dict[str, str]:
    """The benchmark configuration: test env, the bench key, offline provider, WARNING logs.

    ``repo``: the checkout whose code and config files the service runs (another worktree for a
    before/after comparison; its own ``.venv`` is then the interpreter, see ``checkout_python``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env |= {
        "PYTHONPATH": str(repo),
        "PYTHONUNBUFFERED": "1",
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_API_KEYS": f"{API_KEY}:bench:chat+admin",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_LOG_FORMAT": "json",
        "SWITCHBOARD_PROVIDERS": "scripted",
        "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": "0",
        "SWITCHBOARD_VAR_DIR": str(var_dir),
        "SWITCHBOARD_AGENTS_FILE": str(repo / "config/agents.toml"),
        "SWITCHBOARD_GUARDRAILS_FILE": str(repo / "config/guardrails.toml"),
        "SWITCHBOARD_WORKERS": os.environ.get("SWITCHBOARD_WORKERS", "1"),
    }
    return env | dict(extra or {})


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    spawned_at: float  # time.perf_counter() just before Popen
    ready_after_s: float = float("nan")
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        parts = []
        for name in ("service.out", "service.err"):
            path = self.workdir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-chars:])
        return "\n".join(p for p in parts if p)


def is_ready(port: int, timeout: float = 2.0, path: str = "/health/ready") -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def checkout_python(repo: Path) -> str:
    """The interpreter that runs ``repo``'s code: its own ``.venv`` when it has one, else this one."""
    venv = repo / ".venv" / "bin" / "python"
    return str(venv) if repo.resolve() != REPO and venv.exists() else sys.executable


def start(
    workdir: Path,
    env: dict[str, str],
    *,
    poll_s: float = 0.05,
    timeout_s: float = 180.0,
    python: str | None = None,
) -> Service:
    """Spawn ``python -m ops serve`` and block until /health/ready answers 200 (or raise)."""
    port = free_port()
    args = [python or sys.executable, "-m", "ops", "serve", "--host", HOST, "--port", str(port)]
    return spawn(args, workdir, env, port, ready_path="/health/ready", poll_s=poll_s, timeout_s=timeout_s)


def spawn(
    args: list[str],
    workdir: Path,
    env: dict[str, str],
    port: int,
    *,
    ready_path: str,
    poll_s: float = 0.05,
    timeout_s: float = 180.0,
    name: str = "service",
) -> Service:
    """Start ``args`` in its own session (cwd ``workdir``, output in ``workdir/service.out|err``) and block
    until ``GET ready_path`` on ``port`` answers 200; stop it and raise if it exits or times out."""
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "service.out").open("wb") as out, (workdir / "service.err").open("wb") as err:
        spawned_at = time.perf_counter()
        proc = subprocess.Popen(
            args,
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    service = Service(proc=proc, port=port, workdir=workdir, spawned_at=spawned_at, env=env)
    deadline = spawned_at + timeout_s
    try:
        while not is_ready(port, path=ready_path):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{service.log_tail()}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{name} not ready after {timeout_s:.0f} s:\n{service.log_tail()}")
            time.sleep(poll_s)
        service.ready_after_s = time.perf_counter() - spawned_at
    except BaseException:
        stop(service)
        raise
    return service


def stop(service: Service, grace_s: float = 15.0) -> None:
    """SIGTERM the service's process group, SIGKILL it after ``grace_s``. Safe to call twice."""
    proc = service.proc
    if proc.poll() is not None:
        return
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def exit_on_sigterm() -> None:
    """SIGTERM raises SystemExit in this (main) thread, so ``finally`` blocks stop the children we started
    (they run in their own sessions and would otherwise outlive us)."""

    def handler(_signum: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, handler)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # start_new_session=True: the group id is the service's pid


@contextmanager
def running(workdir: Path, env: dict[str, str], **kwargs: float) -> Iterator[Service]:
    """``start`` ... ``stop``, the stop always runs (errors, Ctrl-C)."""
    service = start(workdir, env, **kwargs)
    try:
        yield service
    finally:
        stop(service)
