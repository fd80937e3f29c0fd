"""Usage records keep cache-write tokens and the call's cost in US dollars (NULL: no known price).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as table:
        table.add_column(
            sa.Column("cache_write_tokens", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        table.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_records") as table:
        table.drop_column("cost_usd")
        table.drop_column("cache_write_tokens")
