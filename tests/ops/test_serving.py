"""``switchboard serve``'s uvicorn options: uvicorn never cuts what the drain would still let finish."""

from __future__ import annotations

from backend.settings import load_settings
from ops.serving import uvicorn_options


def test_uvicorns_shutdown_timeout_is_at_least_the_drain_grace() -> None:
    for grace, expected in (("30", 30), ("45.5", 46), ("0", 1)):
        settings = load_settings({"SWITCHBOARD_DRAIN_GRACE_S": grace}, dotenv=None)
        assert uvicorn_options(settings)["timeout_graceful_shutdown"] == expected


async def test_a_sighup_during_start_up_is_applied_once_the_reload_is_installed() -> None:
    """A parent forwards SIGHUP to every worker, including one still building its services: the signal
    is remembered (not fatal, not dropped) and the worker reloads as soon as it can."""
    import asyncio
    import os
    import signal

    import svcs

    from backend.wiring.reload import Reloader
    from ops.serving import hold_sighup, reload_on_sighup

    reloads: list[str] = []

    class Recorder:
        fan_out = None

        async def reload(self, *, source: str, signal_workers: bool = False) -> None:
            reloads.append(source)

    registry = svcs.Registry()
    registry.register_value(Reloader, Recorder())
    previous = signal.getsignal(signal.SIGHUP)
    try:
        hold_sighup()
        os.kill(os.getpid(), signal.SIGHUP)  # "while the services are being built"
        await asyncio.sleep(0.05)
        assert reloads == []
        reload_on_sighup(registry)
        for _ in range(100):
            if reloads:
                break
            await asyncio.sleep(0.01)
        assert reloads == ["SIGHUP"]
    finally:
        signal.signal(signal.SIGHUP, previous)
        await registry.aclose()
