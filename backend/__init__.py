"""The Switchboard service: settings, the composition root, services and the HTTP edge.

Importing this package first imports ``svcs`` without its web-framework integrations. ``svcs/__init__.py``
imports ``svcs.aiohttp``, ``svcs.fastapi``, ``svcs.flask`` and ``svcs.starlette`` whenever it can (each in a
``try``/``except ImportError``), and aiohttp (the providers' HTTP client) and starlette (a dependency of the
OpenAI Agents SDK) are installed: that was ~0.2 s of every start for integrations this service does not use
(it has its own Litestar plugin, backend/http/svcs_plugin.py). While the ``svcs`` package is first imported,
those four submodules are marked unimportable (``None`` in ``sys.modules``: the documented way to make an
import raise ``ImportError``), which svcs treats as "framework not installed"; the marks are removed right
after, so ``import svcs.starlette`` still works for whoever asks for it. Nothing of svcs is patched. Code that
imports ``svcs`` before this package (some tests) gets the integrations as before.
"""

from __future__ import annotations

import sys

_SVCS_INTEGRATIONS = ("svcs.aiohttp", "svcs.fastapi", "svcs.flask", "svcs.starlette")


def _import_svcs_without_integrations() -> None:
    if "svcs" in sys.modules:
        return
    marked = [name for name in _SVCS_INTEGRATIONS if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import svcs  # noqa: F401
    finally:
        for name in marked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_svcs_without_integrations()
