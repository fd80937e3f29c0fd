"""Real service processes for integration and e2e tests: ``python -m ops serve`` on a free port."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.app import REPO, free_port


@dataclass
class RunningService:
    """A ``switchboard serve`` subprocess: its base URL, the process (to signal it) and its log."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@contextlib.contextmanager
def service_process(env: dict[str, str], *, var_dir: Path, timeout_s: float = 30) -> Iterator[str]:
    """Start the service as a subprocess and yield its base URL; always stop it."""
    with running_service(env, var_dir=var_dir, timeout_s=timeout_s) as service:
        yield service.url


@contextlib.contextmanager
def running_service(
    env: dict[str, str], *, var_dir: Path, timeout_s: float = 30, args: tuple[str, ...] = ()
) -> Iterator[RunningService]:
    """Start ``python -m ops serve`` (plus ``args``) once it is ready; always stop it (SIGTERM, then
    SIGKILL after the drain's worst case)."""
    port = free_port()
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_", "ANTHROPIC_"))
    }
    environ.update(
        {
            "SWITCHBOARD_ENV": "test",
            "SWITCHBOARD_VAR_DIR": str(var_dir),
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_LOG_FORMAT": "json",
            **env,
        }
    )
    log_path = var_dir / f"service-{port}.log"
    var_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops", "serve", "--port", str(port), *args],
            cwd=REPO,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"service exited early:\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"service not ready in {timeout_s}s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.05)
            yield RunningService(base, process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=float(environ.get("SWITCHBOARD_DRAIN_GRACE_S", 30)) + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
