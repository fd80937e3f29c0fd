"""``KeyAdministration`` over an in-memory key store: reach, refusals, rotation, audit events."""

from __future__ import annotations

import builtins
import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import structlog

from backend.services.administration import KeyAdministration, NewKey, expiry, tenant_in_reach
from contracts.auth import ApiKeyRecord, Principal
from contracts.errors import Forbidden, InvalidRequest, NotFound

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ADMIN_A = Principal(key_id="k-a", tenant_id="a", scopes=frozenset({"admin"}))
CHAT_A = Principal(key_id="k-chat", tenant_id="a", scopes=frozenset({"chat"}))
OPERATOR = Principal(key_id="k-op", tenant_id="ops", scopes=frozenset({"operator"}))


class MemoryKeys:
    """The ``ApiKeyAdmin`` port in a dict (secrets are counters: this fake never authenticates)."""

    def __init__(self) -> None:
        self.records: dict[str, ApiKeyRecord] = {}
        self._ids = itertools.count(1)

    async def create(
        self,
        tenant_id: str,
        scopes: frozenset[str],
        *,
        expires_at: datetime | None = None,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        concurrent_streams: int | None = None,
    ) -> tuple[str, ApiKeyRecord]:
        n = next(self._ids)
        record = ApiKeyRecord(
            id=f"key_{n}",
            tenant_id=tenant_id,
            prefix=f"sb_{n}",
            scopes=scopes,
            created_at=NOW,
            expires_at=expires_at,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            concurrent_streams=concurrent_streams,
        )
        self.records[record.id] = record
        return f"sb_{n}_secret", record

    async def list(self, tenant_id: str | None = None) -> builtins.list[ApiKeyRecord]:
        return [r for r in self.records.values() if tenant_id in (None, r.tenant_id)]

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        return self.records.get(key_id)

    async def revoke(self, key_id: str) -> bool:
        record = self.records.get(key_id)
        if record is None or record.revoked_at is not None:
            return False
        self.records[key_id] = msgspec.structs.replace(record, revoked_at=NOW)
        return True


@pytest.fixture
def audits() -> Iterator[list[dict[str, object]]]:
    """Audit events, whatever level an app built earlier in this process left the loggers at."""
    wrapper = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=wrapper)


def test_reach_is_the_own_tenant_for_admins_and_any_tenant_for_operators() -> None:
    assert tenant_in_reach(ADMIN_A, None) == "a"
    assert tenant_in_reach(ADMIN_A, "a") == "a"
    assert tenant_in_reach(OPERATOR, None) is None
    assert tenant_in_reach(OPERATOR, "b") == "b"
    with pytest.raises(Forbidden):
        tenant_in_reach(ADMIN_A, "b")
    with pytest.raises(Forbidden):
        tenant_in_reach(CHAT_A, None)


def test_expiry_takes_a_date_or_days_but_not_both() -> None:
    assert expiry(NOW, None, 3) == NOW + timedelta(days=3)
    assert expiry(NOW, datetime(2027, 1, 1), None) == datetime(2027, 1, 1, tzinfo=UTC)  # naive means UTC
    assert expiry(NOW, None, None) is None
    with pytest.raises(InvalidRequest):
        expiry(NOW, NOW, 1)


async def test_an_expired_key_cannot_be_rotated(audits: list[dict[str, object]]) -> None:
    keys = MemoryKeys()
    admin = KeyAdministration(keys, clock=lambda: NOW)
    _, record = await admin.create(
        ADMIN_A, NewKey(scopes=frozenset({"chat"}), expires_at=NOW + timedelta(hours=1))
    )
    later = KeyAdministration(keys, clock=lambda: NOW + timedelta(hours=2))
    with pytest.raises(InvalidRequest, match="expired"):
        await later.rotate(ADMIN_A, record.id)
    assert [(e["action"], e["outcome"]) for e in audits] == [
        ("key.create", "ok"),
        ("key.rotate", "invalid_request"),
    ]


async def test_an_operator_scope_or_another_tenant_is_refused_before_the_store_is_touched(
    audits: list[dict[str, object]],
) -> None:
    keys = MemoryKeys()
    admin = KeyAdministration(keys, clock=lambda: NOW)
    with pytest.raises(InvalidRequest, match="operator"):
        await admin.create(OPERATOR, NewKey(scopes=frozenset({"operator"}), tenant_id="b"))
    with pytest.raises(Forbidden):
        await admin.create(ADMIN_A, NewKey(scopes=frozenset({"chat"}), tenant_id="b"))
    with pytest.raises(InvalidRequest, match="tenant"):
        await admin.create(OPERATOR, NewKey(scopes=frozenset({"chat"}), tenant_id="no spaces"))
    assert keys.records == {}
    assert [e["outcome"] for e in audits] == ["invalid_request", "forbidden", "invalid_request"]


async def test_another_tenants_key_is_not_found_for_an_admin_and_revocable_by_the_operator() -> None:
    keys = MemoryKeys()
    admin = KeyAdministration(keys, clock=lambda: NOW)
    _, theirs = await admin.create(OPERATOR, NewKey(scopes=frozenset({"read"}), tenant_id="b"))
    with pytest.raises(NotFound):
        await admin.revoke(ADMIN_A, theirs.id)
    assert (await admin.revoke(OPERATOR, theirs.id)).revoked_at == NOW
    assert (await admin.revoke(OPERATOR, theirs.id)).revoked_at == NOW  # again: same answer, no error
