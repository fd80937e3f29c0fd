"""How ``switchboard serve`` runs uvicorn: its options, one worker in-process or several uvicorn worker
processes, and in every worker process SIGTERM -> drain -> exit (backend/services/drain.py).

uvicorn on SIGTERM stops accepting connections at once and cuts whatever is still running after
``timeout_graceful_shutdown``. Here SIGTERM first starts the drain while the server keeps serving:
readiness answers 503 (so load balancers and Kubernetes take the instance out of rotation), new streams
are refused with a retryable 503, open streams get ``SWITCHBOARD_DRAIN_GRACE_S`` to finish and then end
with a terminal ``run.failed``. Only then is the signal handed to uvicorn's own handler, which shuts down
(lifespan shutdown: partial turns stored, usage flushed, pools closed). With several workers, uvicorn's
parent process forwards SIGTERM to each worker, and each drains on its own.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import svcs

from backend.services.drain import Drain
from backend.settings import Settings, load_settings

if TYPE_CHECKING:
    from litestar import Litestar


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The one set of uvicorn options (backend/serving/options.py: the hardened protocol, its limits, and a
    shutdown timeout that follows the drain's grace)."""
    from backend.serving.options import uvicorn_options as options

    return options(settings.server)


def drain_on_sigterm(registry: svcs.Registry) -> None:
    """Install, in the serving loop, a SIGTERM handler that drains before handing the signal on to the
    handler that was there before (uvicorn's). Runs as ``create_app(configure=...)`` at startup."""
    with svcs.Container(registry) as container:
        drain = container.get(Drain)
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    running: set[asyncio.Task[None]] = set()

    async def drain_then_exit() -> None:
        await drain.run()
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signal.SIGTERM, None)
        else:
            signal.raise_signal(signal.SIGTERM)

    def start() -> None:
        if drain.draining:
            return  # a second SIGTERM changes nothing; the platform's SIGKILL ends a stuck drain
        drain.begin()
        task = loop.create_task(drain_then_exit())
        running.add(task)
        task.add_done_callback(running.discard)

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(start)  # a signal handler may run in the middle of the loop's code

    signal.signal(signal.SIGTERM, on_sigterm)


def worker_app() -> Litestar:
    """The app of one uvicorn worker process (``workers > 1``): services built in the worker, drain on
    SIGTERM."""
    from backend.app import create_app

    return create_app(load_settings(), configure=drain_on_sigterm)


async def serve_one(settings: Settings, host: str, port: int, on_ready: Callable[[], None]) -> None:
    """One worker: build the services once, in this process and loop, then serve with them."""
    import uvicorn

    from backend.app import create_app
    from backend.wiring.table import build_registry, compile_graph

    registry = await build_registry(compile_graph(settings))
    on_ready()
    app = create_app(settings, registry=registry, configure=drain_on_sigterm)
    config = uvicorn.Config(app, host=host, port=port, loop="none", **uvicorn_options(settings))
    await uvicorn.Server(config).serve()


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> NoReturn:
    """Several uvicorn worker processes on one socket, each building its own services.

    When the workers have ended, this (parent) process exits at once: it holds nothing to clean up, and
    the interpreter's teardown of everything the preflight imported took 1.5-2 s here, time that counts
    against the platform's kill timeout after SIGTERM."""
    import logging
    import os

    import uvicorn

    if settings.metrics.enabled:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = prepare_multiproc_dir(settings)  # the workers inherit it
    uvicorn.run(
        "ops.serving:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        **uvicorn_options(settings),
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def prepare_multiproc_dir(settings: Settings) -> str:
    """The directory of prometheus-client's multiprocess mode for this instance's workers
    (``PROMETHEUS_MULTIPROC_DIR``, else ``<var_dir>/prometheus``), emptied of a previous run's files:
    they would otherwise be summed with the new workers' (docs/observability.md)."""
    from pathlib import Path

    directory = Path(settings.metrics.multiproc_dir or Path(settings.server.var_dir) / "prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return str(directory.resolve())
