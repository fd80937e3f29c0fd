"""Result files: ``var/bench/<name>.json`` with the machine and the command that produced them."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ops.bench.harness import REPO

RESULTS_DIR = REPO / "var" / "bench"
CPU_NOTE = (
    "load generator and service share this machine's {cpus} CPU(s): the client's CPU time is reported "
    "next to the service's, read the numbers as a lower bound of what the service does alone"
)


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _module() -> str:
    """``ops.bench`` (the dispatcher) or ``ops.bench.<name>`` (a module run by itself)."""
    stem = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return "ops.bench" if stem in ("__main__", "", "-c") else f"ops.bench.{stem}"


def machine() -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git": _git_commit(),
        "command": f"python -m {_module()} " + " ".join(sys.argv[1:]),
        "workers": int(os.environ.get("SWITCHBOARD_WORKERS", "1")),
        "loadavg_at_write": [round(x, 2) for x in os.getloadavg()],
    }


def _clean(value: Any) -> Any:
    """NaN (no samples) becomes null so the file stays strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = _clean({"benchmark": name, "machine": machine(), **payload})
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    print(f"-> {path.relative_to(REPO)}", flush=True)
    return path
