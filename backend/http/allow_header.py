"""A true ``Allow`` header on ``OPTIONS`` and 405 answers.

Litestar builds the automatic ``OPTIONS`` handler and the 405's ``Allow`` from one handler of a path, so a
path served by two handlers (``GET`` and ``DELETE /v1/conversations/{id}``) listed only one method. This
middleware answers with every method of the matched path.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def methods_by_path(app: Any) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found.setdefault(route.path_format, set()).update(route.methods)
    return {path: ", ".join(sorted(methods | {"OPTIONS"})) for path, methods in found.items()}


class AllowHeaderMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self._allow: dict[str, str] | None = None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and (
                message["status"] == 405 or scope.get("method") == "OPTIONS"
            ):
                if self._allow is None:
                    self._allow = methods_by_path(scope["app"])
                allow = self._allow.get(scope.get("path_template", ""))  # type: ignore[call-overload]
                if allow is not None:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message["headers"] = [*headers, (b"allow", allow.encode())]
            await send(message)

        await next_app(scope, receive, send_with_allow)
