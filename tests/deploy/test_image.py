"""The container image, built and served here (opt-in: it takes minutes and needs buildah).

``SWITCHBOARD_IMAGE_TEST=1`` (or ``just test-image``) runs it: ``just image`` builds the image (on a Debian
base made with mmdebstrap unless ``SWITCHBOARD_IMAGE_BASE`` names one), then the image's own entrypoint and
command run with ``buildah run --isolation chroot`` on a free port, and health, a JSON chat and a stream are
probed from outside; SIGTERM then drains and stops it. Without the variable, or without buildah (or
mmdebstrap when a base must be built), the test is skipped with a message saying which.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.app import REPO, free_port
from tests.support.sse import events, parse_frames

BUILD_TIMEOUT_S = 1500
KEY = "image-test-key"


def _skip_unless_enabled() -> None:
    if os.environ.get("SWITCHBOARD_IMAGE_TEST") != "1":
        pytest.skip("image test is opt-in: set SWITCHBOARD_IMAGE_TEST=1 (or run `just test-image`)")
    needed = ["buildah", "just"] + ([] if os.environ.get("SWITCHBOARD_IMAGE_BASE") else ["mmdebstrap"])
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"image test needs {', '.join(missing)} (`just image-tools` installs the Debian packages)"
        )


def _run(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    _skip_unless_enabled()
    tag = f"localhost/switchboard-test:{uuid.uuid4().hex[:8]}"
    recipe = ["just", "image", tag]
    if base := os.environ.get("SWITCHBOARD_IMAGE_BASE"):
        recipe.append(base)
    started = time.monotonic()
    _run(*recipe, timeout=BUILD_TIMEOUT_S)
    print(f"image {tag} built in {time.monotonic() - started:.0f} s")
    try:
        yield tag
    finally:
        subprocess.run(["buildah", "rmi", tag], capture_output=True, check=False)


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[str]:
    name = _run("buildah", "from", "--pull-never", image).strip()
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc/<pid>/stat)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def _descendants(root: int) -> list[int]:
    """Every process below ``root``, parents first."""
    parents, found = _parents(), [root]
    for pid in found:
        found += [child for child, parent in parents.items() if parent == pid]
    return found[1:]


def _served_pid(buildah_pid: int) -> int:
    """The ``switchboard serve`` process under ``buildah run`` (chroot isolation shares the PID space)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for pid in _descendants(buildah_pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if Path(cmdline[0].decode()).name.startswith("python") and b"serve" in cmdline:
                return pid
        time.sleep(0.2)
    raise AssertionError("no switchboard serve process under buildah run")


def _config(image: str) -> dict[str, object]:
    inspected = json.loads(_run("buildah", "inspect", "--type", "image", image))
    config: dict[str, object] = inspected["OCIv1"]["config"]
    return config


def test_the_image_runs_as_a_non_root_user_with_bytecode_compiled_ahead(image: str, container: str) -> None:
    config = _config(image)
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["switchboard"] and config["Cmd"] == ["serve"]
    assert "SWITCHBOARD_HOST=0.0.0.0" in config["Env"]  # type: ignore[operator]
    uid = _run("buildah", "run", "--isolation", "chroot", container, "--", "id", "-u").strip()
    assert uid == "10001"
    missing = _run(
        "buildah", "run", "--isolation", "chroot", container, "--", "python", "-c",
        "import backend, importlib.util, pathlib\n"
        "root = pathlib.Path(backend.__file__).parents[1]\n"
        "print([str(p) for pkg in ('backend', 'contracts', 'adapters', 'ops')"
        " for p in (root / pkg).rglob('*.py')"
        " if not pathlib.Path(importlib.util.cache_from_source(str(p))).is_file()])",
    )  # fmt: skip
    assert missing.strip() == "[]"


def test_the_image_serves_health_a_chat_and_a_stream_and_drains_on_sigterm(
    image: str, container: str, tmp_path: Path
) -> None:
    config = _config(image)
    command = [*config["Entrypoint"], *config["Cmd"]]  # type: ignore[misc]
    port = free_port()
    env = {
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_API_KEYS_FILE": "/run/secrets/api-keys",  # a secret given as a file
        "SWITCHBOARD_DRAIN_GRACE_S": "3",
        "SWITCHBOARD_PROVIDER_SCRIPTED_TOKEN_DELAY_MS": "50",
    }
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "api-keys").write_text(f"{KEY}:acme:chat\n")
    secrets.chmod(0o755)
    (secrets / "api-keys").chmod(0o644)
    args = ["buildah", "run", "--isolation", "chroot", "--volume", f"{secrets}:/run/secrets:ro"]
    for name, value in env.items():
        args += ["--env", f"{name}={value}"]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([*args, container, "--", *command], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.2)
        assert httpx.get(f"{base}/health/live", timeout=5).json()["status"] == "ok"
        answer = httpx.post(
            f"{base}/v1/chat", json={"message": "what is 6 * 7?"}, headers=headers, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["output"] == "The calculator says 42."
        stream = httpx.post(
            f"{base}/v1/chat/stream", json={"message": "hello image"}, headers=headers, timeout=30
        )
        seen = events(parse_frames(stream.text))
        assert (seen[0].event, seen[-1].event) == ("run.started", "run.completed")
        assert seen[-1].data["output"] == "You said: hello image"
        # What a container runtime does on stop: SIGTERM to the container's process. (``buildah run``
        # itself answers SIGTERM by killing its child, so the signal goes to the served process.) A
        # stream open then, longer than the grace period, ends with the drain's terminal event.
        long = {"message": " ".join(f"w{n}" for n in range(200))}  # 202 pieces, 50 ms apart: 10 s
        with httpx.stream(
            "POST", f"{base}/v1/chat/stream", json=long, headers=headers, timeout=30
        ) as response:
            received = ""
            chunks = response.iter_text()
            while "event: text.delta" not in received:
                received += next(chunks)
            os.kill(_served_pid(process.pid), signal.SIGTERM)
            received += "".join(chunks)
        cut = events(parse_frames(received))
        assert cut[-1].event == "run.failed" and cut[-1].data["error"]["code"] == "shutting_down"
        process.wait(timeout=20)  # buildah reports an end by signal as its exit status 1
    finally:
        if process.poll() is None:  # killing buildah alone would leave the served process running
            for pid in reversed(_descendants(process.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()
        log.close()
    served = (tmp_path / "serve.log").read_text()
    assert '"drain.finished"' in served and "Application shutdown complete" in served, served[-3000:]
