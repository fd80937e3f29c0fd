"""``GuardrailPolicyStore`` on SQLAlchemy: per-tenant overrides as msgspec JSON in ``guardrail_policies``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import msgspec
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.persistence.engine import store_errors
from adapters.persistence.memory_policies import merge_policies
from adapters.persistence.models import GuardrailPolicyRow
from contracts.guardrails import GuardrailPolicy

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(GuardrailPolicy)
_table = cast(Table, GuardrailPolicyRow.__table__)


class SqlAlchemyPolicyStore:
    """Guardrail policies: ``defaults`` (from the config file) overridden per tenant in the database."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], defaults: Sequence[GuardrailPolicy]
    ) -> None:
        self._sessions = session_factory
        self._defaults = {policy.name: policy for policy in defaults}

    async def get(self, tenant_id: str, name: str) -> GuardrailPolicy | None:
        with store_errors():
            async with self._sessions() as session:
                body = await session.scalar(
                    select(_table.c.body).where(_table.c.tenant_id == tenant_id, _table.c.name == name)
                )
        return _decoder.decode(body) if body is not None else self._defaults.get(name)

    async def list(self, tenant_id: str) -> list[GuardrailPolicy]:
        with store_errors():
            async with self._sessions() as session:
                bodies = (
                    await session.scalars(select(_table.c.body).where(_table.c.tenant_id == tenant_id))
                ).all()
        return merge_policies(self._defaults, [_decoder.decode(body) for body in bodies])

    async def put(self, tenant_id: str, policy: GuardrailPolicy) -> GuardrailPolicy:
        values = {
            "tenant_id": tenant_id,
            "name": policy.name,
            "body": _encoder.encode(policy).decode(),
            "updated_at": datetime.now(UTC),
        }
        with store_errors():
            async with self._sessions() as session, session.begin():
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                statement = insert(_table).values(values)
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[_table.c.tenant_id, _table.c.name],
                        set_={"body": statement.excluded.body, "updated_at": statement.excluded.updated_at},
                    )
                )
        return policy
