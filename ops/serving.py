"""How ``switchboard serve`` runs uvicorn: its options, one worker in-process or several uvicorn worker
processes, and in every worker process SIGTERM -> drain -> exit (backend/services/drain.py) and SIGHUP ->
reload the configuration (backend/wiring/reload.py; with several workers the parent forwards SIGHUP to each).

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
import contextlib
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from backend.services.drain import Drain
from backend.settings import Settings, load_settings

if TYPE_CHECKING:
    import svcs
    from litestar import Litestar


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The one set of uvicorn options (backend/serving/options.py: the hardened protocol, its limits, and a
    shutdown timeout that follows the drain's grace)."""
    from backend.serving.options import uvicorn_options as options

    return options(settings.server)


def drain_on_sigterm(registry: svcs.Registry) -> None:
    """Install, in the serving loop, a SIGTERM handler that drains before handing the signal on to the
    handler that was there before (uvicorn's). Runs as ``create_app(configure=...)`` at startup."""
    import svcs  # not at the top: ``backend`` must be imported first (backend/__init__.py)

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


_held_sighup = False
"""A SIGHUP arrived before the reload handler was installed (while the services were being built)."""


def hold_sighup() -> None:
    """Until startup installs the reload, remember a SIGHUP instead of dying of it (the default) or
    dropping it: the configuration read at start may already be the old one, so it is reloaded once the
    service is up (a parent forwarding SIGHUP to a worker that is still starting must not lose it)."""

    def remember(_signum: int, _frame: FrameType | None) -> None:
        global _held_sighup
        _held_sighup = True

    signal.signal(signal.SIGHUP, remember)


def reload_on_sighup(registry: svcs.Registry, *, fan_out: Callable[[], None] | None = None) -> None:
    """Install, in the serving loop, a SIGHUP handler that reloads the configuration
    (backend/wiring/reload.py: validated, swapped only when valid, the outcome logged). ``fan_out``:
    how a reload asked over HTTP reaches the other worker processes."""
    import svcs  # not at the top: ``backend`` must be imported first (backend/__init__.py)

    from backend.wiring.reload import Reloader
    from contracts.errors import ConfigRejected

    with svcs.Container(registry) as container:
        reloader = container.get(Reloader)
    reloader.fan_out = fan_out
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        with contextlib.suppress(ConfigRejected):  # logged by the reloader; the running config stays
            await reloader.reload(source="SIGHUP")

    def start() -> None:
        task = loop.create_task(reload())
        running.add(task)
        task.add_done_callback(running.discard)

    def on_sighup(_signum: int, _frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(start)

    signal.signal(signal.SIGHUP, on_sighup)
    global _held_sighup
    if _held_sighup:
        _held_sighup = False
        start()


def serving_signals(registry: svcs.Registry) -> None:
    """One worker of its own (``workers == 1``): SIGTERM drains, SIGHUP reloads."""
    drain_on_sigterm(registry)
    reload_on_sighup(registry)


def worker_signals(registry: svcs.Registry) -> None:
    """One of several worker processes: as ``serving_signals``, and a reload asked over HTTP is passed
    to the parent, which forwards SIGHUP to every worker (``ForwardingSupervisor``)."""
    import os

    parent = os.getppid()
    drain_on_sigterm(registry)
    reload_on_sighup(registry, fan_out=lambda: os.kill(parent, signal.SIGHUP))


def worker_app() -> Litestar:
    """The app of one uvicorn worker process (``workers > 1``): services built in the worker, drain on
    SIGTERM, reload on SIGHUP."""
    import gc

    gc.disable()  # start-up without collections; the app's startup turns them on (backend/runtime/heap.py)
    from backend.app import create_app

    hold_sighup()
    return create_app(load_settings(), configure=worker_signals)


async def serve_one(settings: Settings, host: str, port: int, on_ready: Callable[[], None]) -> None:
    """One worker: build the services once, in this process and loop, then serve with them."""
    import uvicorn

    from backend.app import create_app
    from backend.wiring.generations import build_generation
    from backend.wiring.reload import config_version
    from backend.wiring.table import compile_graph

    hold_sighup()
    first = await build_generation(compile_graph(settings), version=config_version(settings), number=1)
    on_ready()
    app = create_app(settings, generation=first, configure=serving_signals)
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
    from uvicorn.supervisors import Multiprocess

    if settings.metrics.enabled:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = prepare_multiproc_dir(settings)  # the workers inherit it

    class ForwardingSupervisor(Multiprocess):
        """uvicorn's supervisor restarts every worker on SIGHUP; here each worker reloads instead."""

        def handle_hup(self) -> None:
            for process in self.processes:
                if process.pid is not None and process.exitcode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGHUP)

    config = uvicorn.Config(
        "ops.serving:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        **uvicorn_options(settings),
    )
    with contextlib.suppress(KeyboardInterrupt):
        ForwardingSupervisor(config, sockets=[config.bind_socket()]).run()
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
