"""One suite for every ``GuardrailPolicyStore`` adapter (memory, SQLite, Postgres)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from adapters.persistence.memory_policies import MemoryPolicyStore
from adapters.persistence.sqlalchemy_policies import SqlAlchemyPolicyStore
from contracts.guardrails import BlockedTermsRule, GuardrailPolicy, MaxLengthRule, PiiRule, RegexRule
from contracts.ports import GuardrailPolicyStore

from .conftest import SQL_BACKENDS

DEFAULTS = (
    GuardrailPolicy(name="default", description="baseline", rules=(MaxLengthRule(max_chars=4000),)),
    GuardrailPolicy(name="strict", rules=(PiiRule(), BlockedTermsRule(terms=("darn",)))),
)


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def policies(request: pytest.FixtureRequest) -> GuardrailPolicyStore:
    defaults: Sequence[GuardrailPolicy] = DEFAULTS
    if request.param == "memory":
        return MemoryPolicyStore(defaults)
    db = request.getfixturevalue(f"{request.param}_db")
    return SqlAlchemyPolicyStore(db.runner, defaults)


async def test_defaults_apply_to_every_tenant(policies: GuardrailPolicyStore) -> None:
    assert await policies.get("t1", "default") == DEFAULTS[0]
    assert await policies.get("t1", "missing") is None
    assert await policies.list("t1") == list(DEFAULTS)


async def test_override_replaces_the_default_for_that_tenant_only(policies: GuardrailPolicyStore) -> None:
    override = GuardrailPolicy(
        name="default",
        description="tenant's own",
        rules=(RegexRule(name="ticket", pattern=r"TICKET-\d+", action="redact", applies_to="output"),),
    )
    assert await policies.put("t1", override) == override

    assert await policies.get("t1", "default") == override
    assert await policies.get("t2", "default") == DEFAULTS[0]
    assert await policies.list("t1") == [override, DEFAULTS[1]]
    assert await policies.list("t2") == list(DEFAULTS)


async def test_put_again_replaces_and_new_names_are_listed(policies: GuardrailPolicyStore) -> None:
    await policies.put("t1", GuardrailPolicy(name="custom", description="v1"))
    latest = GuardrailPolicy(name="custom", description="v2", rules=(MaxLengthRule(max_chars=10),))
    await policies.put("t1", latest)

    assert await policies.get("t1", "custom") == latest
    assert [p.name for p in await policies.list("t1")] == ["custom", "default", "strict"]
    assert await policies.get("t2", "custom") is None


async def test_nul_characters_in_a_policy_round_trip(policies: GuardrailPolicyStore) -> None:
    policy = GuardrailPolicy(
        name="nul", description="a\x00b", rules=(BlockedTermsRule(terms=("x\x00y",), action="redact"),)
    )
    assert await policies.put("t1", policy) == policy
    assert await policies.get("t1", "nul") == policy
