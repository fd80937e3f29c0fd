"""``/v1/guardrails/policies``: read with any key, write with the ``admin`` scope (per-tenant overrides)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from backend.http.auth import GUARDS, provide_principal, require
from backend.http.openapi import problems
from backend.http.svcs_plugin import Injected, port
from backend.services.administration import audit
from contracts.auth import SCOPE_ADMIN, Principal
from contracts.base import Struct
from contracts.errors import DomainError, InvalidRequest, NotFound
from contracts.guardrails import GuardrailPolicy
from contracts.ports import GuardrailChecker, GuardrailPolicyStore

PolicyName = Annotated[str, PathParameter(max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
VET_TIMEOUT_S = 2.0
"""Validating a policy compiles its patterns in a worker thread; taking longer than this rejects it."""


async def vet(checker: GuardrailChecker, policy: GuardrailPolicy) -> list[str]:
    """``checker.problems`` off the event loop (it compiles and times patterns), with a time limit."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(checker.problems, policy), VET_TIMEOUT_S)
    except TimeoutError:
        return [f"policy {policy.name!r} took over {VET_TIMEOUT_S:.0f} s to validate; simplify its patterns"]


class PolicyList(Struct, frozen=True, kw_only=True):
    data: list[GuardrailPolicy]


class GuardrailController(Controller):
    path = "/v1/guardrails/policies"
    tags = ["guardrails"]
    guards = GUARDS
    dependencies = {"principal": provide_principal, "policies": port(GuardrailPolicyStore)}

    @get("/", summary="Policies visible to the caller's tenant", responses=problems())
    async def list_policies(
        self, principal: NamedDependency[Principal], policies: Injected[GuardrailPolicyStore]
    ) -> PolicyList:
        return PolicyList(data=await policies.list(principal.tenant_id))

    @get("/{name:str}", summary="One policy", responses=problems(404))
    async def get_policy(
        self,
        name: PolicyName,
        principal: NamedDependency[Principal],
        policies: Injected[GuardrailPolicyStore],
    ) -> GuardrailPolicy:
        policy = await policies.get(principal.tenant_id, name)
        if policy is None:
            raise NotFound("guardrail policy", name)
        return policy

    @put(
        "/{name:str}",
        summary="Create or replace the tenant's override of a policy (admin scope)",
        responses=problems(403, 413, 415, 422),
        dependencies={"checker": port(GuardrailChecker)},
    )
    async def put_policy(
        self,
        name: PolicyName,
        data: JSONBody[GuardrailPolicy],
        principal: NamedDependency[Principal],
        policies: Injected[GuardrailPolicyStore],
        checker: Injected[GuardrailChecker],
    ) -> GuardrailPolicy:
        try:
            require(principal, SCOPE_ADMIN)
            if data.name != name:
                raise InvalidRequest(
                    f"body name {data.name!r} differs from the path's {name!r}", field="name"
                )
            problems = await vet(checker, data)
            if problems:
                raise InvalidRequest("; ".join(problems), field="rules")
            stored = await policies.put(principal.tenant_id, data)
        except DomainError as exc:
            audit(principal, "policy.put", outcome=exc.code, tenant=principal.tenant_id, policy=name)
            raise
        audit(principal, "policy.put", tenant=principal.tenant_id, policy=name, rules=len(stored.rules))
        return stored
