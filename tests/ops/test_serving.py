"""``switchboard serve``'s uvicorn options: uvicorn never cuts what the drain would still let finish."""

from __future__ import annotations

from backend.settings import load_settings
from ops.serving import uvicorn_options


def test_uvicorns_shutdown_timeout_is_at_least_the_drain_grace() -> None:
    for grace, expected in (("30", 30), ("45.5", 46), ("0", 1)):
        settings = load_settings({"SWITCHBOARD_DRAIN_GRACE_S": grace}, dotenv=None)
        assert uvicorn_options(settings)["timeout_graceful_shutdown"] == expected
