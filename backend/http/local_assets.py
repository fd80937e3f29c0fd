"""Browser assets served by the service itself, so no page of it asks another host for anything.

- ``/docs``: Swagger UI from the ``swagger-ui-bundle-v2`` package's files (``/docs/assets/...``), the
  OpenAPI document inline, the favicon local. Litestar's render plugins default to a CDN.
- ``/console``: the operator console, plain ES modules and CSS under ``backend/http/console/``
  (no build step).
- ``/``: a small page linking both.
"""

from __future__ import annotations

from pathlib import Path

from litestar import MediaType, Response, get
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
DOCS_ASSETS = "/docs/assets"
_FAVICON = f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>"


def swagger_dir() -> Path:
    import swagger_ui_bundle  # type: ignore[import-untyped]  # ships no types

    return Path(swagger_ui_bundle.swagger_ui_path)


def docs_render_plugins() -> list[SwaggerRenderPlugin]:
    """Swagger UI at ``/docs`` (and ``/docs/swagger``, its former address), every file local."""
    return [
        SwaggerRenderPlugin(
            path=["/", "/swagger"],
            js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
            favicon=_FAVICON,
        )
    ]


def asset_routers() -> list[Router]:
    """Static files: Swagger UI's bundle and the console (``index.html`` at ``/console``)."""
    return [
        create_static_files_router(
            path=DOCS_ASSETS, directories=[swagger_dir()], include_in_schema=False, name="docs_assets"
        ),
        create_static_files_router(
            path="/console",
            directories=[CONSOLE_DIR],
            html_mode=True,
            include_in_schema=False,
            name="console",
        ),
    ]


_HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/console/console.css"></head>
<body class="home"><main><h1>Switchboard</h1>
<p>Provider-agnostic AI gateway.</p>
<ul><li><a href="/console/">Operator console</a></li><li><a href="/docs">API documentation</a></li>
<li><a href="/health/ready">Readiness</a></li></ul></main></body></html>
"""


@get("/", include_in_schema=False, media_type=MediaType.HTML, sync_to_thread=False)
def home() -> Response[str]:
    """The service's front page: links to the console and the API documentation."""
    return Response(_HOME, media_type=MediaType.HTML)
