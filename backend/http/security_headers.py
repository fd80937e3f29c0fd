"""Security headers on every response; ``Cache-Control: no-store`` on everything under ``/v1``.

- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY``;
- ``Content-Security-Policy``: API responses may load nothing and be framed by nothing
  (``default-src 'none'; frame-ancestors 'none'``); the console (``/console``) and the front page load
  scripts, styles and data from this origin only, with no inline script or style; the API documentation
  (``/docs``, Swagger UI served from this origin) may also run its one inline start-up script and inline
  styles. No page may load anything from another host or be framed;
- ``/v1`` responses carry tenant data (conversations, answers, usage): ``Cache-Control: no-store``, so no
  shared or browser cache keeps them (SSE streams included).
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_PAGE = (
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_CONSOLE_CSP = (
    b"content-security-policy",
    f"default-src 'none'; script-src 'self'; style-src 'self'; {_PAGE}".encode(),
)
_DOCS_CSP = (
    b"content-security-policy",
    f"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; {_PAGE}".encode(),
)


def _csp(path: str) -> tuple[bytes, bytes]:
    if path.startswith("/docs"):
        return _DOCS_CSP
    if path == "/" or path == "/console" or path.startswith("/console/"):
        return _CONSOLE_CSP
    return _API_CSP


_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope["path"]
        extra = [*_ALWAYS, _csp(path)]
        private = path.startswith("/v1/") or path == "/v1"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not (private and name.lower() == b"cache-control")
                ]
                message["headers"] = [*headers, *extra, *([_NO_STORE] if private else [])]
            await send(message)

        await next_app(scope, receive, send_with_headers)
