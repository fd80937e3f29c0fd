"""``startup``: process start -> /health/ready 200, median of N runs; modules imported; RSS once ready.

Every run spawns ``python -m ops serve`` (which validates the configuration, builds and closes every service
once as a preflight, then starts uvicorn, whose lifespan builds them again) and polls /health/ready every
5 ms. One extra, unmeasured-in-the-median start comes first: it creates and migrates the SQLite file in the
temporary var dir (reported as "first start"), so the measured runs find a migrated database.

Python bytecode matters more than anything else here: when ``PYTHONDONTWRITEBYTECODE`` is set and the venv
holds no ``__pycache__`` (as in some containers), every start compiles ~1,100 modules from source. So the
benchmark runs twice by default: ``inherited`` (this environment as it is) and ``bytecode`` (a temporary
``PYTHONPYCACHEPREFIX``, filled by the first start: what an install with compiled bytecode sees).

Separately, a fresh interpreter imports ``backend.app`` and builds the app with the same settings, and
reports whether the OpenAI Agents SDK (``agents``) or ``openai`` were imported with only the offline
provider enabled.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ops.bench import harness, procfs, results
from ops.bench.stats import table

TARGET_S = 0.8
MODES = ("inherited", "bytecode")
_IMPORT_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from backend.app import create_app
t1 = time.perf_counter()
app = create_app()
t2 = time.perf_counter()
print(json.dumps({
    "agents_imported": "agents" in sys.modules,
    "openai_imported": "openai" in sys.modules,
    "modules": len(sys.modules),
    "import_s": round(t1 - t0, 4),
    "create_app_s": round(t2 - t1, 4),
}))
"""


def bytecode_state() -> dict[str, Any]:
    """Is bytecode written, and does the venv already hold compiled files (checked on litestar)?"""
    spec = importlib.util.find_spec("litestar")
    origin = spec.origin if spec else None
    cached = bool(origin) and Path(importlib.util.cache_from_source(origin or "")).exists()
    return {"PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""), "venv_has_pyc": cached}


def import_probe(workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-2000:]}
    probe: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return probe


def _start_once(workdir: Path, env: dict[str, str], poll_ms: float) -> dict[str, Any]:
    service = harness.start(workdir, env, poll_s=poll_ms / 1000, timeout_s=120)
    try:
        return {"ready_s": round(service.ready_after_s, 4), "rss_mib": round(procfs.rss_mib(service.pid), 1)}
    finally:
        harness.stop(service)


def _mode(tmp: Path, mode: str, runs: int, poll_ms: float) -> dict[str, Any]:
    env = harness.service_env(tmp / mode / "var")
    if mode == "bytecode":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / mode / "pycache")
    first = _start_once(tmp / mode / "first", env, poll_ms)
    rows = [_start_once(tmp / mode / f"run{i}", env, poll_ms) | {"run": i} for i in range(1, runs + 1)]
    times = [r["ready_s"] for r in rows]
    return {
        "mode": mode,
        "first_start": first,
        "runs": rows,
        "median_ready_s": statistics.median(times),
        "min_ready_s": min(times),
        "max_ready_s": max(times),
        "median_rss_mib": statistics.median(r["rss_mib"] for r in rows),
        "target_met": statistics.median(times) <= TARGET_S,
        "import_probe": import_probe(tmp / mode, env),
    }


def run(runs: int = 5, poll_ms: float = 5.0, modes: tuple[str, ...] = MODES) -> dict[str, Any]:
    state = bytecode_state()
    print(
        f"startup: python -m ops serve -> /health/ready 200, poll every {poll_ms:g} ms, median of {runs} "
        f"(PYTHONDONTWRITEBYTECODE={state['PYTHONDONTWRITEBYTECODE'] or '-'}, "
        f".pyc in venv: {'yes' if state['venv_has_pyc'] else 'no'})",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        measured = [_mode(Path(tmp), mode, runs, poll_ms) for mode in modes]
    rows = []
    for m in measured:
        probe = m["import_probe"]
        rows.append(
            [
                m["mode"],
                f"{m['first_start']['ready_s']:.3f}",
                " ".join(f"{r['ready_s']:.2f}" for r in m["runs"]),
                f"{m['median_ready_s']:.3f}",
                "met" if m["target_met"] else "MISSED",
                m["median_rss_mib"],
                "error" if "error" in probe else f"{probe['import_s']:.2f} / {probe['create_app_s']:.2f}",
                "error" if "error" in probe else f"{probe['agents_imported']} / {probe['openai_imported']}",
            ]
        )
    print(
        table(
            [
                "bytecode",
                "first start s",
                "runs (s)",
                "median s",
                f"<= {TARGET_S} s",
                "RSS MiB",
                "import/create_app s",
                "agents/openai imported",
            ],
            rows,
        )
    )
    print(
        "first start: fresh SQLite file + migrations (and, for 'bytecode', compiling the cache); "
        "RSS: VmRSS once ready; the probe runs `from backend.app import create_app; create_app()`"
    )
    payload = {
        "params": {"runs": runs, "poll_ms": poll_ms, "target_s": TARGET_S, "modes": list(modes)},
        "bytecode_state": state,
        "modes": measured,
    }
    results.write("startup", payload)
    return payload
