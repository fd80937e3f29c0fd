"""``/v1/guardrails/policies``: read with any key, write with the ``admin`` scope (per-tenant overrides)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from backend.http.auth import provide_principal, require
from backend.http.svcs_plugin import Injected, port
from contracts.auth import SCOPE_ADMIN, Principal
from contracts.base import Struct
from contracts.errors import InvalidRequest, NotFound
from contracts.guardrails import GuardrailPolicy
from contracts.ports import GuardrailChecker, GuardrailPolicyStore

PolicyName = Annotated[str, PathParameter(max_length=64)]


class PolicyList(Struct, frozen=True, kw_only=True):
    data: list[GuardrailPolicy]


class GuardrailController(Controller):
    path = "/v1/guardrails/policies"
    tags = ["guardrails"]
    dependencies = {"principal": provide_principal, "policies": port(GuardrailPolicyStore)}

    @get("/", summary="Policies visible to the caller's tenant")
    async def list_policies(
        self, principal: NamedDependency[Principal], policies: Injected[GuardrailPolicyStore]
    ) -> PolicyList:
        return PolicyList(data=await policies.list(principal.tenant_id))

    @get("/{name:str}", summary="One policy")
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
        require(principal, SCOPE_ADMIN)
        if data.name != name:
            raise InvalidRequest(f"body name {data.name!r} differs from the path's {name!r}", field="name")
        problems = checker.problems(data)
        if problems:
            raise InvalidRequest("; ".join(problems), field="rules")
        return await policies.put(principal.tenant_id, data)
