"""``ApiKeyStore`` adapters: static (settings) and SQL (created and revoked at runtime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.keys.hashing import hash_secret
from adapters.keys.sqlalchemy_keys import SqlAlchemyApiKeyStore
from adapters.keys.static import StaticApiKeyStore, StaticKey
from contracts.auth import Principal

from .conftest import SQL_BACKENDS, Database

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- static ------------------------------------------------------------------------------------------------


def static_store(clock: Clock) -> StaticApiKeyStore:
    return StaticApiKeyStore(
        [
            StaticKey(
                key_id="k1", secret_sha256=hash_secret("sk-one"), tenant_id="acme", scopes=frozenset({"chat"})
            ),
            StaticKey(
                key_id="k2",
                secret_sha256=hash_secret("sk-two").upper(),
                tenant_id="beta",
                scopes=frozenset({"chat", "admin"}),
                expires_at=NOW + timedelta(hours=1),
            ),
        ],
        clock=clock,
    )


async def test_static_key_authenticates_to_its_principal() -> None:
    store = static_store(Clock(NOW))

    assert await store.authenticate("sk-one") == Principal(
        key_id="k1", tenant_id="acme", scopes=frozenset({"chat"})
    )
    two = await store.authenticate("sk-two")
    assert two is not None
    assert (two.tenant_id, two.expires_at) == ("beta", NOW + timedelta(hours=1))


@pytest.mark.parametrize("secret", ["sk-on", "sk-one ", "", "SK-ONE", hash_secret("sk-one")])
async def test_static_wrong_secret_is_rejected(secret: str) -> None:
    assert await static_store(Clock(NOW)).authenticate(secret) is None


async def test_static_expired_key_is_rejected() -> None:
    clock = Clock(NOW)
    store = static_store(clock)
    clock.now = NOW + timedelta(hours=1)

    assert await store.authenticate("sk-two") is None
    assert await store.authenticate("sk-one") is not None


# -- SQL ---------------------------------------------------------------------------------------------------


@pytest.fixture(params=SQL_BACKENDS)
def sql_keys(request: pytest.FixtureRequest) -> tuple[SqlAlchemyApiKeyStore, Database, Clock]:
    db: Database = request.getfixturevalue(f"{request.param}_db")
    clock = Clock(NOW)
    return SqlAlchemyApiKeyStore(db.runner, clock=clock), db, clock


async def test_created_key_authenticates_and_only_its_hash_is_stored(
    sql_keys: tuple[SqlAlchemyApiKeyStore, Database, Clock],
) -> None:
    store, db, _ = sql_keys
    secret, record = await store.create(
        "acme", ["chat", "admin"], requests_per_minute=60, concurrent_streams=2
    )

    assert secret.startswith("sb_")
    assert secret.startswith(record.prefix)
    assert await store.authenticate(secret) == Principal(
        key_id=record.id,
        tenant_id="acme",
        scopes=frozenset({"chat", "admin"}),
        requests_per_minute=60,
        concurrent_streams=2,
    )
    assert await db.count("api_keys", secret_sha256=hash_secret(secret)) == 1
    rows = await db.rows("SELECT * FROM api_keys")
    assert all(secret not in str(value) for row in rows for value in row)
    listed = await store.list("acme")
    assert [(r.id, r.requests_per_minute, r.tokens_per_minute, r.concurrent_streams) for r in listed] == [
        (record.id, 60, None, 2)
    ]


async def test_wrong_secret_is_rejected(sql_keys: tuple[SqlAlchemyApiKeyStore, Database, Clock]) -> None:
    store, _, _ = sql_keys
    secret, _ = await store.create("acme", ["chat"])

    assert await store.authenticate(secret[:-1]) is None
    assert await store.authenticate(secret + "x") is None
    assert await store.authenticate("") is None


async def test_revoked_key_is_rejected(sql_keys: tuple[SqlAlchemyApiKeyStore, Database, Clock]) -> None:
    store, _, _ = sql_keys
    secret, record = await store.create("acme", ["chat"])
    other_secret, _ = await store.create("acme", ["chat"])

    assert await store.revoke(record.id) is True
    assert await store.revoke(record.id) is False
    assert await store.revoke("key_unknown") is False
    assert await store.authenticate(secret) is None
    assert await store.authenticate(other_secret) is not None
    revoked = next(r for r in await store.list() if r.id == record.id)
    assert revoked.revoked_at == NOW


async def test_expired_key_is_rejected(sql_keys: tuple[SqlAlchemyApiKeyStore, Database, Clock]) -> None:
    store, _, clock = sql_keys
    secret, _ = await store.create("acme", ["chat"], expires_at=NOW + timedelta(minutes=5))

    assert await store.authenticate(secret) is not None
    clock.now = NOW + timedelta(minutes=5)
    assert await store.authenticate(secret) is None


async def test_list_filters_by_tenant(sql_keys: tuple[SqlAlchemyApiKeyStore, Database, Clock]) -> None:
    store, _, clock = sql_keys
    _, first = await store.create("acme", ["chat"])
    clock.now = NOW + timedelta(seconds=1)
    _, second = await store.create("beta", ["admin"])

    assert [r.id for r in await store.list("acme")] == [first.id]
    assert [r.id for r in await store.list()] == [first.id, second.id]
    assert (await store.list("beta"))[0].scopes == frozenset({"admin"})


async def test_get_finds_a_record_by_id_revoked_ones_included(
    sql_keys: tuple[SqlAlchemyApiKeyStore, Database, Clock],
) -> None:
    store, _, _ = sql_keys
    _, record = await store.create("acme", ["read"], tokens_per_minute=7)
    assert await store.get(record.id) == record
    await store.revoke(record.id)
    revoked = await store.get(record.id)
    assert revoked is not None and revoked.revoked_at == NOW and revoked.tokens_per_minute == 7
    assert await store.get("key_unknown") is None
