"""schemathesis over the whole OpenAPI document, every check on, bounded in examples and time: no 5xx,
no response that contradicts the schema, every status, header and content type documented, auth enforced
(``ignored_auth``), unknown methods refused with a true ``Allow``."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

from tests.support.app import KEY_A_ADMIN, live_server, make_settings

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))
MAX_TIME_S = int(os.environ.get("FUZZ_MAX_TIME_S", "20"))
PHASES = os.environ.get("FUZZ_PHASES", "coverage,fuzzing")
"""Bounded for ``just test``: the deterministic coverage phase (every operation, documented status and
negative case; ~15 s here) then random fuzzing for what is left of the time. A longer session:
``FUZZ_PHASES=coverage,fuzzing,stateful FUZZ_MAX_TIME_S=600 just test tests/fuzz/test_schemathesis.py``."""


async def test_the_whole_api_passes_every_schemathesis_check(tmp_path: Path) -> None:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli is not None, "schemathesis is a dev dependency (uv sync)"
    async with live_server(make_settings(tmp_path)) as base:
        process = await asyncio.create_subprocess_exec(
            cli,
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{base}/docs/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {KEY_A_ADMIN}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--max-time",
            str(MAX_TIME_S),
            "--generation-deterministic",
            "--phases",
            PHASES,
            # one worker: with two, hypothesis describes strategies with ast.parse in two threads at once,
            # which CPython 3.11 can fail with a spurious "AST constructor recursion depth mismatch"
            # SystemError (python/cpython#106905)
            "--workers",
            "1",
            "--request-timeout",
            "5",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=MAX_TIME_S + 60)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-6000:]
    assert " passed" in report and "Tested: 26" in report
