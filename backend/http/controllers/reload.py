"""``POST /v1/admin/reload``: apply the configuration on disk without a restart (operator scope)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency

from backend.http.auth import GUARDS, provide_principal, require
from backend.http.openapi import problems
from backend.http.svcs_plugin import Injected, port
from backend.wiring.keys import is_configured_key
from backend.wiring.reload import Reloader
from contracts.auth import SCOPE_OPERATOR, Principal
from contracts.config import ReloadResult
from contracts.errors import Forbidden


class ReloadController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    guards = GUARDS
    dependencies = {"principal": provide_principal}

    @post(
        "/reload",
        status_code=200,
        summary="Reload the configuration (.env and the agents, guardrails and routes files); operator scope",
        description=(
            "Validated exactly as at start-up; applied only when valid. New requests use the new "
            "configuration, requests and streams already running finish on the one they started with. "
            "A refused configuration is a 422 with code `config_rejected`, its reason in `detail`; the "
            "running configuration keeps serving. With several worker processes, the others are signalled "
            "to reload too."
        ),
        responses=problems(403, 422),
        dependencies={"reloader": port(Reloader)},
    )
    async def reload(
        self, principal: NamedDependency[Principal], reloader: Injected[Reloader]
    ) -> ReloadResult:
        require(principal, SCOPE_OPERATOR)
        if not is_configured_key(principal.key_id):
            raise Forbidden("live reconfiguration needs a configured key (SWITCHBOARD_API_KEYS)")
        return await reloader.reload(source="http", signal_workers=True)
