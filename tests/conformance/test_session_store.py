"""One behavioural suite for every ``SessionStore`` adapter (memory, SQLite, Postgres, Redis)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from contracts.conversations import (
    AssistantMessage,
    ConversationItem,
    ToolCallItem,
    ToolResultItem,
    UserMessage,
)
from contracts.errors import InvalidRequest

from .conftest import SessionBackend

T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
_ids = count()


def user(text: str = "hello", item_id: str | None = None) -> UserMessage:
    n = next(_ids)
    return UserMessage(id=item_id or f"u{n}", created_at=T0 + timedelta(seconds=n), text=text)


def assistant(text: str = "hi there", item_id: str | None = None) -> AssistantMessage:
    n = next(_ids)
    return AssistantMessage(
        id=item_id or f"a{n}",
        created_at=T0 + timedelta(seconds=n),
        text=text,
        agent="helper",
        provider="scripted",
        model="echo-1",
    )


async def test_append_then_load_keeps_order_and_counts(session_backend: SessionBackend) -> None:
    store = session_backend.store
    first, second, third = user("one"), assistant("two"), user("three")
    created = await store.append("t1", "c1", [first, second])
    updated = await store.append("t1", "c1", [third])

    assert await store.load_items("t1", "c1") == [first, second, third]
    assert (created.id, created.tenant_id, created.item_count, created.title) == ("c1", "t1", 2, "one")
    assert updated.item_count == 3
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at
    assert await store.get("t1", "c1") == updated


async def test_unknown_conversation_is_absent(session_backend: SessionBackend) -> None:
    store = session_backend.store
    assert await store.get("t1", "nope") is None
    assert await store.load_items("t1", "nope") == []
    assert await store.delete("t1", "nope") is False


async def test_limit_returns_newest_items_oldest_first(session_backend: SessionBackend) -> None:
    items = [user(f"m{i}") for i in range(6)]
    await session_backend.store.append("t1", "c1", items)

    assert await session_backend.store.load_items("t1", "c1", limit=3) == items[3:]
    assert await session_backend.store.load_items("t1", "c1", limit=10) == items


async def test_items_of_every_type_round_trip_exactly(session_backend: SessionBackend) -> None:
    items: list[ConversationItem] = [
        UserMessage(id="i1", created_at=T0, text='Größe? 👋 "quoted" \n newline'),
        ToolCallItem(
            id="i2",
            created_at=T0 + timedelta(microseconds=1),
            call_id="call_1",
            name="calculator",
            arguments={"expression": "2+2", "nested": {"list": [1, 2.5, None, True]}},
        ),
        ToolResultItem(
            id="i3",
            created_at=T0 + timedelta(seconds=1),
            call_id="call_1",
            name="calculator",
            output="4",
            is_error=True,
        ),
        AssistantMessage(
            id="i4",
            created_at=datetime(2025, 1, 2, tzinfo=UTC),
            text="4",
            agent="math",
            provider="openai",
            model="gpt-x",
            status="cancelled",
        ),
    ]
    await session_backend.store.append("t1", "c1", items)

    loaded = await session_backend.store.load_items("t1", "c1")
    assert loaded == items
    assert [type(item) for item in loaded] == [type(item) for item in items]


async def test_list_pages_newest_first_without_gaps_or_duplicates(session_backend: SessionBackend) -> None:
    store = session_backend.store
    for i in range(7):
        await store.append("t1", f"c{i}", [user()])
    await store.append("t1", "c2", [assistant()])  # c2 becomes the most recently updated
    await store.append("other", "x", [user()])
    expected = ["c2", "c6", "c5", "c4", "c3", "c1", "c0"]

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await store.list("t1", limit=3, cursor=cursor)
        assert len(page.data) <= 3
        seen.extend(info.id for info in page.data)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == expected
    updated = [info.updated_at for info in (await store.list("t1", limit=10)).data]
    assert updated == sorted(updated, reverse=True)


async def test_list_of_exact_page_size_has_no_next_cursor(session_backend: SessionBackend) -> None:
    for i in range(2):
        await session_backend.store.append("t1", f"c{i}", [user()])

    page = await session_backend.store.list("t1", limit=2)

    assert len(page.data) == 2
    assert page.next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["yesterday", "c1"]').decode(),
        base64.urlsafe_b64encode(b'["2025-01-01T00:00:00", "c1"]').decode(),
    ],
)
async def test_malformed_cursor_is_an_invalid_request(session_backend: SessionBackend, cursor: str) -> None:
    await session_backend.store.append("t1", "c1", [user()])

    with pytest.raises(InvalidRequest) as raised:
        await session_backend.store.list("t1", limit=2, cursor=cursor)

    assert raised.value.field == "cursor"


async def test_another_tenants_conversation_behaves_as_absent(session_backend: SessionBackend) -> None:
    store = session_backend.store
    await store.append("owner", "c1", [user("secret plans")])

    assert await store.get("intruder", "c1") is None
    assert await store.load_items("intruder", "c1") == []
    assert (await store.list("intruder", limit=10)).data == []
    assert await store.search("intruder", "secret") == []
    assert await store.delete("intruder", "c1") is False
    assert len(await store.load_items("owner", "c1")) == 1


async def test_same_conversation_id_in_two_tenants_is_two_conversations(
    session_backend: SessionBackend,
) -> None:
    store = session_backend.store
    mine, theirs = user("mine"), user("theirs")
    await store.append("t1", "shared", [mine])
    await store.append("t2", "shared", [theirs])

    assert await store.load_items("t1", "shared") == [mine]
    assert await store.load_items("t2", "shared") == [theirs]


async def test_delete_removes_the_conversation_and_all_its_items(session_backend: SessionBackend) -> None:
    store = session_backend.store
    await store.append("t1", "c1", [user(), assistant(), user()])
    await store.append("t1", "keep", [user()])
    assert await session_backend.leftovers("t1", "c1") > 0

    assert await store.delete("t1", "c1") is True

    assert await session_backend.leftovers("t1", "c1") == 0
    assert await store.get("t1", "c1") is None
    assert [info.id for info in (await store.list("t1", limit=10)).data] == ["keep"]
    assert await store.delete("t1", "c1") is False


async def test_search_is_case_insensitive_and_returns_snippets(session_backend: SessionBackend) -> None:
    store = session_backend.store
    long_text = "x" * 200 + " the Purple Elephant danced " + "y" * 200
    target = assistant(long_text)
    await store.append("t1", "c1", [user("what about elephants?"), target])
    await store.append("t1", "c2", [user("nothing here")])

    hits = await store.search("t1", "purple ELEPHANT", limit=5)

    assert [(hit.conversation_id, hit.item_id) for hit in hits] == [("c1", target.id)]
    assert "Purple Elephant" in hits[0].snippet
    assert len(hits[0].snippet) < len(long_text)
    assert len(await store.search("t1", "elephant", limit=1)) == 1
    assert len(await store.search("t1", "elephant", limit=5)) == 2


async def test_search_treats_wildcards_literally(session_backend: SessionBackend) -> None:
    store = session_backend.store
    await store.append("t1", "c1", [user("100% sure"), user("snake_case")])
    await store.append("t1", "c2", [user("100 percent"), user("snakeXcase")])

    assert [hit.snippet for hit in await store.search("t1", "100%")] == ["100% sure"]
    assert [hit.snippet for hit in await store.search("t1", "e_c")] == ["snake_case"]


async def test_concurrent_appends_lose_nothing_and_keep_each_batch_together(
    session_backend: SessionBackend,
) -> None:
    store = session_backend.store

    async def turn(n: int) -> None:
        batch = [user(f"q{n}", item_id=f"q{n}"), assistant(f"a{n}", item_id=f"a{n}")]
        await store.append("t1", "busy", batch)

    await asyncio.gather(*(turn(n) for n in range(50)))

    items = await store.load_items("t1", "busy")
    assert len(items) == 100
    assert len({item.id for item in items}) == 100
    for question, answer in zip(items[::2], items[1::2], strict=True):
        assert question.id[0] == "q"
        assert answer.id == "a" + question.id[1:]
    info = await store.get("t1", "busy")
    assert info is not None
    assert info.item_count == 100


async def test_failed_append_leaves_nothing_of_its_batch(session_backend: SessionBackend) -> None:
    store = session_backend.store
    kept = user("first", item_id="dup")
    await store.append("t1", "c1", [kept])

    with pytest.raises(InvalidRequest):
        await store.append("t1", "c1", [user("new", item_id="fresh"), user("again", item_id="dup")])
    with pytest.raises(InvalidRequest):
        await store.append("t1", "c1", [user(item_id="twice"), user(item_id="twice")])

    assert await store.load_items("t1", "c1") == [kept]
    info = await store.get("t1", "c1")
    assert info is not None
    assert info.item_count == 1
    assert await store.search("t1", "new") == []


async def test_failed_first_append_creates_no_conversation(session_backend: SessionBackend) -> None:
    with pytest.raises(InvalidRequest):
        await session_backend.store.append("t1", "c1", [user(item_id="x"), user(item_id="x")])

    assert await session_backend.store.get("t1", "c1") is None
    assert await session_backend.leftovers("t1", "c1") == 0


async def test_nul_characters_are_stored_faithfully_and_searchable(session_backend: SessionBackend) -> None:
    """The NUL rule (docs/security.md): content round-trips exactly on every store; titles and search
    indexes drop NUL (PostgreSQL text cannot hold it), and a NUL in a search query is ignored alike."""
    store = session_backend.store
    items: list[ConversationItem] = [
        UserMessage(id="n1", created_at=T0, text="nul\x00 in the prompt"),
        ToolCallItem(
            id="n2", created_at=T0, call_id="c\x00", name="calculator", arguments={"expr\x00": "1\x00+1"}
        ),
        ToolResultItem(id="n3", created_at=T0, call_id="c\x00", name="calculator", output="2\x00"),
        AssistantMessage(id="n4", created_at=T0, text="answer\x00 with nul", status="failed"),
    ]
    info = await store.append("t1", "nul", items)
    assert await store.load_items("t1", "nul") == items
    assert info.title == "nul in the prompt"
    hits = await store.search("t1", "nul in\x00 the")
    assert [hit.item_id for hit in hits] == ["n1"]
