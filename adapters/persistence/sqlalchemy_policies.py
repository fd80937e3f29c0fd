"""``GuardrailPolicyStore`` on SQLAlchemy: per-tenant overrides as msgspec JSON in ``guardrail_policies``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import msgspec
from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.persistence.memory_policies import merge_policies
from adapters.persistence.models import GuardrailPolicyRow
from adapters.persistence.sql_runner import SqlRunner, one_row, scalars
from contracts.guardrails import GuardrailPolicy

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(GuardrailPolicy)
_table = cast(Table, GuardrailPolicyRow.__table__)


def _upsert(conn: Connection, values: dict[str, object]) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(_table).values(values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[_table.c.tenant_id, _table.c.name],
            set_={"body": statement.excluded.body, "updated_at": statement.excluded.updated_at},
        )
    )


class SqlAlchemyPolicyStore:
    """Guardrail policies: ``defaults`` (from the config file) overridden per tenant in the database."""

    def __init__(self, db: SqlRunner, defaults: Sequence[GuardrailPolicy]) -> None:
        self._db = db
        self._defaults = {policy.name: policy for policy in defaults}

    async def get(self, tenant_id: str, name: str) -> GuardrailPolicy | None:
        query = select(_table.c.body).where(_table.c.tenant_id == tenant_id, _table.c.name == name)
        row = await self._db.read(one_row, query)
        return _decoder.decode(row.body) if row is not None else self._defaults.get(name)

    async def list(self, tenant_id: str) -> list[GuardrailPolicy]:
        bodies = await self._db.read(scalars, select(_table.c.body).where(_table.c.tenant_id == tenant_id))
        return merge_policies(self._defaults, [_decoder.decode(body) for body in bodies])

    async def put(self, tenant_id: str, policy: GuardrailPolicy) -> GuardrailPolicy:
        values = {
            "tenant_id": tenant_id,
            "name": policy.name,
            "body": _encoder.encode(policy).decode(),
            "updated_at": datetime.now(UTC),
        }
        await self._db.transaction(_upsert, values)
        return policy
