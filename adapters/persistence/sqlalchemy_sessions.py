"""``SessionStore`` on SQLAlchemy: SQLite (embedded default) and Postgres.

Each operation is one synchronous Core function run by the ``SqlRunner`` in one go (``sql_runner.py``).
Appends are group-committed (``group_commit.py``): concurrent appends share one transaction of two
statements, a multi-row ``INSERT ... ON CONFLICT DO UPDATE SET item_count = item_count + excluded.item_count
RETURNING`` and one insert of all items. The upsert takes the row locks (Postgres) or the write lock
(SQLite), so concurrent appenders to one conversation are serialised and each call receives its own
contiguous block of ``seq`` numbers, all or nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Connection, Executable, Row, Table, and_, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from adapters.persistence.cursors import decode_cursor, encode_cursor
from adapters.persistence.group_commit import GroupCommit
from adapters.persistence.models import ConversationItemRow, ConversationRow
from adapters.persistence.search_snippets import indexable, searchable_text, snippet, title_for
from adapters.persistence.sql_runner import SqlRunner, all_rows, one_row, rowcount, scalars
from contracts.conversations import ConversationInfo, ConversationItem, ConversationPage, SearchHit
from contracts.errors import InvalidRequest

_encoder = msgspec.json.Encoder()
_item_decoder = msgspec.json.Decoder(ConversationItem)
_conv = cast(Table, ConversationRow.__table__)
_Append = tuple[str, str, tuple[ConversationItem, ...]]
"""(tenant_id, conversation_id, items): one ``append`` call, as queued for group commit."""
_items = cast(Table, ConversationItemRow.__table__)


def _info(row: Row[Any]) -> ConversationInfo:
    return ConversationInfo(
        tenant_id=row.tenant_id,
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        item_count=row.item_count,
        title=row.title,
    )


_UPSERTS: dict[str, Executable] = {}


def _build_upsert(dialect: str) -> Executable:
    if dialect == "postgresql":
        statement: Any = postgresql.insert(_conv)
    elif dialect == "sqlite":
        statement = sqlite.insert(_conv)
    else:
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    return statement.on_conflict_do_update(
        index_elements=[_conv.c.tenant_id, _conv.c.id],
        set_={
            "item_count": _conv.c.item_count + statement.excluded.item_count,
            "updated_at": statement.excluded.updated_at,
        },
    ).returning(*_conv.c, sort_by_parameter_order=True)


def _upsert(conn: Connection) -> Executable:
    """Create each conversation, or add this batch's item count to it, returning the rows. Built once
    per dialect and executed with a list of parameter sets, so SQLAlchemy compiles it once (a
    ``.values([...])`` statement has no cache key and was compiled again on every commit)."""
    dialect = conn.dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        statement = _UPSERTS[dialect] = _build_upsert(dialect)
    return statement


def _write_appends(conn: Connection, requests: Sequence[_Append], now: datetime) -> list[ConversationInfo]:
    """Append several requests in one transaction: one multi-row upsert of the conversations (each row's
    count bumped by what this batch adds to it, returning the new counts), then one insert of every item.
    The upsert takes the row locks (Postgres) or the write lock (SQLite), so concurrent batches are
    serialised and each request receives its own contiguous block of ``seq`` numbers."""
    added: dict[tuple[str, str], int] = {}
    titles: dict[tuple[str, str], str | None] = {}
    for tenant_id, conversation_id, items in requests:
        key = (tenant_id, conversation_id)
        added[key] = added.get(key, 0) + len(items)
        titles.setdefault(key, title_for(items))
    values = [
        {
            "tenant_id": t,
            "id": c,
            "created_at": now,
            "updated_at": now,
            "item_count": n,
            "title": titles[(t, c)],
        }
        for (t, c), n in added.items()
    ]
    rows = conn.execute(_upsert(conn), values).all()
    next_seq = {(r.tenant_id, r.id): r.item_count - added[(r.tenant_id, r.id)] for r in rows}
    by_key = {(r.tenant_id, r.id): r for r in rows}
    item_values: list[dict[str, object]] = []
    infos: list[ConversationInfo] = []
    for tenant_id, conversation_id, items in requests:
        key = (tenant_id, conversation_id)
        first = next_seq[key]
        next_seq[key] = first + len(items)
        item_values += [
            _item_values(tenant_id, conversation_id, first + i, item) for i, item in enumerate(items)
        ]
        row = by_key[key]
        infos.append(
            ConversationInfo(
                tenant_id=tenant_id,
                id=conversation_id,
                created_at=row.created_at,
                updated_at=row.updated_at,
                item_count=first + len(items),
                title=row.title,
            )
        )
    if item_values:
        conn.execute(insert(_items), item_values)
    return infos


def _item_values(tenant_id: str, conversation_id: str, seq: int, item: ConversationItem) -> dict[str, object]:
    text = searchable_text(item)
    return {
        "tenant_id": tenant_id,
        "conversation_id": conversation_id,
        "seq": seq,
        "item_id": item.id,
        "type": type(item).__struct_config__.tag,
        "created_at": item.created_at,
        "payload": _encoder.encode(item).decode(),
        "search_text": indexable(text).lower() if text else None,
    }


class SqlAlchemySessionStore:
    """Conversations and items in the ``conversations`` / ``conversation_items`` tables."""

    def __init__(self, db: SqlRunner) -> None:
        self._db = db
        self._group: GroupCommit[_Append, ConversationInfo] = GroupCommit(
            self._append_batch, self._append_one
        )

    async def append(
        self, tenant_id: str, conversation_id: str, items: Sequence[ConversationItem]
    ) -> ConversationInfo:
        return await self._group.submit((tenant_id, conversation_id, tuple(items)))

    async def _append_one(self, request: _Append) -> ConversationInfo:
        [info] = await self._append_batch([request])
        return info

    async def _append_batch(self, requests: Sequence[_Append]) -> builtins.list[ConversationInfo]:
        try:
            return await self._db.transaction(_write_appends, requests, datetime.now(UTC))
        except IntegrityError as exc:
            raise InvalidRequest("an item id is repeated in this conversation", field="items") from exc

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationInfo | None:
        query = select(*_conv.c).where(_conv.c.tenant_id == tenant_id, _conv.c.id == conversation_id)
        row = await self._db.read(one_row, query)
        return _info(row) if row else None

    async def load_items(
        self, tenant_id: str, conversation_id: str, *, limit: int | None = None
    ) -> list[ConversationItem]:
        if limit is not None and limit <= 0:
            return []
        where = and_(_items.c.tenant_id == tenant_id, _items.c.conversation_id == conversation_id)
        query = select(_items.c.payload).where(where).order_by(_items.c.seq.desc())
        if limit is not None:
            query = query.limit(limit)
        payloads = await self._db.read(scalars, query)
        return [_item_decoder.decode(payload) for payload in reversed(payloads)]

    async def list(self, tenant_id: str, *, limit: int, cursor: str | None = None) -> ConversationPage:
        query = (
            select(*_conv.c)
            .where(_conv.c.tenant_id == tenant_id)
            .order_by(_conv.c.updated_at.desc(), _conv.c.id.desc())
            .limit(limit + 1)
        )
        if cursor:
            updated_at, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    _conv.c.updated_at < updated_at,
                    and_(_conv.c.updated_at == updated_at, _conv.c.id < last_id),
                )
            )
        rows = await self._db.read(all_rows, query)
        page = [_info(row) for row in rows[:limit]]
        next_cursor = encode_cursor(page[-1].updated_at, page[-1].id) if len(rows) > limit and page else None
        return ConversationPage(data=page, next_cursor=next_cursor)

    async def delete(self, tenant_id: str, conversation_id: str) -> bool:
        statement = delete(_conv).where(_conv.c.tenant_id == tenant_id, _conv.c.id == conversation_id)
        return bool(await self._db.transaction(rowcount, statement))

    async def search(self, tenant_id: str, query: str, *, limit: int = 5) -> builtins.list[SearchHit]:
        if not indexable(query).strip():
            return []
        statement = (
            select(_items.c.conversation_id, _items.c.item_id, _items.c.payload)
            .join(
                _conv,
                and_(_conv.c.tenant_id == _items.c.tenant_id, _conv.c.id == _items.c.conversation_id),
            )
            .where(_items.c.tenant_id == tenant_id)
            .where(_items.c.search_text.contains(indexable(query).lower(), autoescape=True))
            .order_by(_conv.c.updated_at.desc(), _conv.c.id.desc(), _items.c.seq.desc())
            .limit(limit)
        )
        rows = await self._db.read(all_rows, statement)
        hits = []
        for row in rows:
            text = searchable_text(_item_decoder.decode(row.payload)) or ""
            hits.append(
                SearchHit(
                    conversation_id=row.conversation_id, item_id=row.item_id, snippet=snippet(text, query)
                )
            )
        return hits
