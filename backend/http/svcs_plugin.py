"""A small Litestar integration for svcs (svcs ships none).

The registry lives for the app's life (closed on shutdown); a ``svcs.Container`` is opened per HTTP or
WebSocket connection by an ASGI middleware that wraps the whole response, so it outlives streamed bodies
(a yield-dependency would close it before the SSE body is sent, see LIBRARY_NOTES.md).

Handlers never see the container: they ask for ports through ``port(T)`` dependencies, or, on the hot
routes, for one ``bundle(Ports)``: a dataclass of the ports (and the caller's ``Principal``) the handler
needs, filled in one call. Litestar resolves two or more dependencies of a handler concurrently, in an
anyio task group that costs tens of microseconds per dependency (litestar-org/litestar#4563: 17% of an
in-process ``POST /v1/chat`` here, ``ops/bench/asgi.py``); a single dependency is awaited inline.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import svcs
from litestar import Litestar, Request
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import SkipValidation
from litestar.plugins import InitPluginProtocol
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.wiring.generations import Generations

T = TypeVar("T")

Injected: TypeAlias = NamedDependency[SkipValidation[T]]
"""A handler parameter filled by a ``port(T)`` dependency. Ports are Protocols, which Litestar cannot
validate with isinstance, so validation is skipped (the registry already typed them)."""
_KEY = "svcs_container"


class ContainerMiddleware(ASGIMiddleware):
    """Opens one container per connection on the current configuration generation and closes it after
    the response has been fully sent: the connection keeps that generation to its end, even when a
    reload swaps in a new one meanwhile (backend/wiring/generations.py)."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, generations: Generations) -> None:
        self.generations = generations

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        generation = self.generations.enter()
        try:
            async with svcs.Container(generation.registry) as container:
                scope.setdefault("state", {})[_KEY] = container  # type: ignore[typeddict-item]
                await next_app(scope, receive, send)
        finally:
            self.generations.leave(generation)


def container_of(connection: ASGIConnection[Any, Any, Any, Any]) -> svcs.Container:
    container: svcs.Container = connection.scope["state"][_KEY]  # type: ignore[typeddict-item]
    return container


def port(service_type: type[T]) -> Provide:
    """A Litestar dependency that resolves ``service_type`` from the connection's container."""

    async def provide(request: Request[Any, Any, Any]) -> T:
        service: T = await container_of(request).aget(service_type)
        return service

    provide.__annotations__["return"] = service_type
    return Provide(provide)


def bundle(kind: type[T]) -> Provide:
    """One Litestar dependency that builds the dataclass ``kind``: a field typed ``Principal`` gets the
    principal the auth guard resolved, every other field the service of its type from the container (one
    ``aget`` for all). Ask for it as ``Injected[kind]``."""
    from backend.http.auth import principal_of_connection  # auth imports this module
    from contracts.auth import Principal

    hints = typing.get_type_hints(kind)
    names = [field.name for field in dataclasses.fields(kind)]  # type: ignore[arg-type]
    principal = next((name for name in names if hints[name] is Principal), None)
    services = [name for name in names if name != principal]
    types = [hints[name] for name in services]
    if not types:
        raise TypeError(f"{kind.__name__} bundles no service")

    async def provide(request: Request[Any, Any, Any]) -> T:
        got = await container_of(request).aget(*types)
        values = dict(zip(services, got if len(types) > 1 else (got,), strict=True))
        if principal is not None:
            values[principal] = principal_of_connection(request)
        return kind(**values)

    provide.__annotations__["return"] = kind
    return Provide(provide)


class SvcsPlugin(InitPluginProtocol):
    """Registers the middleware; on shutdown closes every configuration generation, then the registry."""

    def __init__(
        self,
        registry: svcs.Registry,
        startup: Callable[[], Awaitable[None]] | None = None,
        *,
        generations: Generations,
    ) -> None:
        self.registry = registry
        self.generations = generations
        self._startup = startup

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, ContainerMiddleware(self.generations))
        if self._startup is not None:
            app_config.on_startup.append(self._startup)
        app_config.on_shutdown.append(self._close)
        return app_config

    async def _close(self, _app: Litestar) -> None:
        await self.generations.aclose()
        await self.registry.aclose()
