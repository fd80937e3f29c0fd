"""nginx (Debian's package) as the alternative fixed-JSON upstream: ``running_nginx(workdir)``.

The config comes from ``nginx.conf.template`` beside this file, with the same JSON bodies as the fast upstream
(``upstream.JSON_BODIES``) for ``/v1/chat/completions``, ``/v1/responses``, ``/v1/messages`` and
``/v1/models``. nginx runs in the foreground (``daemon off``, one worker process) as a child in its own
session on a free 127.0.0.1 port, with its prefix, pid, logs and temp paths in ``workdir``; it is stopped with
SIGTERM (SIGKILL after a grace period). It cannot pace SSE: it answers the JSON case only.
``python -m ops.bench.nginx [--port N]`` runs it until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops.bench import harness
from ops.bench.upstream import JSON_BODIES

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


class Missing(Exception):
    """nginx is not installed here: the nginx rows are skipped, not failed."""


def binary() -> str | None:
    """Path of the nginx executable (``/usr/sbin`` is not always on PATH), or None."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def render(prefix: Path, port: int) -> str:
    """The config text: placeholders filled; the bodies must not hold a quote or ``$`` (nginx syntax)."""
    values = {
        "@PREFIX@": str(prefix),
        "@PORT@": str(port),
        "@CHAT_JSON@": JSON_BODIES["chat"].decode(),
        "@RESPONSES_JSON@": JSON_BODIES["responses"].decode(),
        "@ANTHROPIC_JSON@": JSON_BODIES["anthropic"].decode(),
        "@MODELS_JSON@": JSON_BODIES["models"].decode(),
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        if key.endswith("_JSON@") and ("'" in value or "$" in value or "\\" in value):
            raise ValueError(f"{key} cannot be written in an nginx single-quoted string")
        text = text.replace(key, value)
    return text


def command(prefix: Path) -> list[str]:
    nginx = binary()
    if nginx is None:
        raise Missing("nginx not found (Debian: apt-get install nginx); the nginx rows are skipped")
    return [nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]


def start(workdir: Path, port: int | None = None) -> harness.Service:
    """Write the config under ``workdir`` and start nginx; raises ``Missing`` when nginx is not installed."""
    prefix = workdir.resolve()
    prefix.mkdir(parents=True, exist_ok=True)
    port = port or harness.free_port()
    args = command(prefix)
    (prefix / "nginx.conf").write_text(render(prefix, port))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    return harness.spawn(args, prefix, env, port, ready_path="/v1/models", timeout_s=30, name="nginx")


@contextmanager
def running_nginx(workdir: Path, port: int | None = None) -> Iterator[harness.Service]:
    service = start(workdir, port)
    try:
        yield service
    finally:
        harness.stop(service, grace_s=5)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench.nginx", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="127.0.0.1 port (0: a free one)")
    args = parser.parse_args()
    harness.exit_on_sigterm()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp,
            running_nginx(Path(tmp), args.port) as ng,
        ):
            print(f"nginx fixed-JSON upstream on {ng.url} (pid {ng.pid}); Ctrl-C stops it", flush=True)
            while ng.proc.poll() is None:
                time.sleep(0.5)
    except Missing as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
