"""Memories: add/list/update/delete, relevance-ranked search, scopes, hostile queries, and the
0001 -> 0002 migration of a database that already holds sessions. Each test runs on SQLite and
PostgreSQL (the `store` and `db_url` fixtures in conftest.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from kode.store import MemoryNotFound, MemoryRecord, Store, StoreMemoryPort
from kode.store import memories as memories_module
from kode.store.memories import MAX_TERMS, fts_query, search_terms
from kode.store.migrate import HEAD, alembic_config, current_revisions
from kode.store.schema import sessions

OpenStore = Callable[[], Awaitable[Store]]


async def test_add_list_update_delete(store: Store) -> None:
    first = await store.add_memory("project", "/w", "  Run the tests with `make check`.  ")
    second = await store.add_memory("user", "/w", "The user prefers tabs.")

    assert isinstance(first, MemoryRecord)
    assert (first.scope, first.project, first.text) == ("project", "/w", "Run the tests with `make check`.")
    assert (second.scope, second.project) == ("user", "")  # user memories belong to no project
    assert first.created_at.tzinfo is not None and first.created_at == first.updated_at
    assert await store.list_memories("/w") == [first, second]

    updated = await store.update_memory(first.id, "Run the tests with `nox`.")
    assert (updated.id, updated.text, updated.created_at) == (first.id, "Run the tests with `nox`.", first.created_at)
    assert updated.updated_at >= first.updated_at
    assert [m.text for m in await store.list_memories("/w")] == ["Run the tests with `nox`.", "The user prefers tabs."]

    await store.delete_memory(second.id)
    assert [m.id for m in await store.list_memories("/w")] == [first.id]
    with pytest.raises(MemoryNotFound):
        await store.delete_memory(second.id)
    with pytest.raises(MemoryNotFound):
        await store.update_memory(second.id, "x")


async def test_bad_input_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.add_memory("team", "/w", "x")
    with pytest.raises(ValueError):
        await store.add_memory("project", "/w", "   ")
    with pytest.raises(ValueError):
        await store.add_memory("project", "", "a project note with no project")
    note = await store.add_memory("project", "/w", "x")
    with pytest.raises(ValueError):
        await store.update_memory(note.id, "")


async def test_search_ranks_the_relevant_one_first(store: Store) -> None:
    await store.add_memory("project", "/w", "The frontend is built with npm run build.")
    wanted = await store.add_memory("project", "/w", "Database migrations: run alembic upgrade head before the tests.")
    await store.add_memory("project", "/w", "Use black formatting for Python code.")
    await store.add_memory("user", "/w", "Answer tersely.")

    found = await store.search_memories("/w", "how do I run the database migrations?")

    assert found and found[0].id == wanted.id
    assert await store.search_memories("/w", "kubernetes") == []
    assert await store.search_memories("/w", "") == []
    assert await store.search_memories("/w", "?!  ...") == []
    assert len(await store.search_memories("/w", "run build migrations python tersely", limit=2)) == 2


async def test_search_sees_updates_and_deletes(store: Store) -> None:
    note = await store.add_memory("project", "/w", "Deploy with fabric.")
    await store.update_memory(note.id, "Deploy with ansible.")

    assert await store.search_memories("/w", "fabric") == []
    assert [m.id for m in await store.search_memories("/w", "ansible")] == [note.id]
    await store.delete_memory(note.id)
    assert await store.search_memories("/w", "ansible") == []


@pytest.mark.parametrize(
    "query",
    [
        'say "hello',
        "NEAR(a b) AND OR NOT",
        "col:umn * ^start -minus +plus",
        "(unbalanced",
        "100% of_the 'quotes' \\ ; DROP TABLE memories; --",
        "x" * 5000,
        "émigré Straße 日本語",
    ],
)
async def test_fts_syntax_in_queries_is_harmless(store: Store, query: str) -> None:
    await store.add_memory("project", "/w", "NEAR the start of the column, say hello to 100 quotes.")

    found = await store.search_memories("/w", query)  # must not raise

    assert isinstance(found, list)
    assert len(await store.list_memories("/w")) == 1


async def test_like_wildcards_are_literal(store: Store) -> None:
    await store.add_memory("project", "/w", "plain words only")

    assert await store.search_memories("/w", "%") == []
    assert await store.search_memories("/w", "_") == []


async def test_scopes(store: Store) -> None:
    mine = await store.add_memory("project", "/a", "Project A builds with cargo.")
    theirs = await store.add_memory("project", "/b", "Project B builds with gradle.")
    everyone = await store.add_memory("user", "/a", "The user builds things carefully.")

    assert [m.id for m in await store.list_memories("/a")] == [mine.id, everyone.id]
    assert [m.id for m in await store.list_memories("/b")] == [theirs.id, everyone.id]
    assert [m.id for m in await store.list_memories("/elsewhere")] == [everyone.id]
    assert {m.id for m in await store.search_memories("/a", "builds")} == {mine.id, everyone.id}
    assert {m.id for m in await store.search_memories("/b", "builds")} == {theirs.id, everyone.id}
    assert await store.search_memories("/a", "gradle") == []
    assert [m.id for m in await store.search_memories("/elsewhere", "builds")] == [everyone.id]


async def test_port_binds_the_project(store: Store) -> None:
    port = StoreMemoryPort(store, "/a")
    added = await port.add("project", "Lint with ruff.")
    await StoreMemoryPort(store, "/b").add("project", "Lint with flake8.")

    assert added.project == "/a"
    assert [m.text for m in await port.search("lint")] == ["Lint with ruff."]
    assert [m.id for m in await port.list()] == [added.id]
    with pytest.raises(ValueError):
        StoreMemoryPort(store, "")


async def test_port_changes_only_the_memories_its_project_sees(store: Store) -> None:
    port = StoreMemoryPort(store, "/a")
    mine = await port.add("project", "Lint with ruff.")
    everyone = await port.add("user", "Use British spelling.")
    theirs = await StoreMemoryPort(store, "/b").add("project", "Lint with flake8.")

    assert (await port.update(mine.id, " Lint with ruff and mypy. ")).text == "Lint with ruff and mypy."
    assert (await port.update(everyone.id, "Use American spelling.")).scope == "user"
    for change in (port.update(theirs.id, "mine now"), port.delete(theirs.id), port.delete(theirs.id + 100)):
        with pytest.raises(MemoryNotFound) as caught:
            await change
        assert isinstance(caught.value, LookupError)
    with pytest.raises(ValueError):
        await port.update(mine.id, "   ")
    await port.delete(everyone.id)

    assert [m.text for m in await port.list()] == ["Lint with ruff and mypy."]
    assert [m.text for m in await store.list_memories("/b")] == ["Lint with flake8."]


async def test_memories_persist_across_opens(open_store: OpenStore) -> None:
    first = await open_store()
    note = await first.add_memory("user", "/w", "Persisted across restarts.")
    await first.close()

    again = await open_store()
    assert [m.id for m in await again.search_memories("/x", "restarts")] == [note.id]


async def test_migrates_an_existing_0001_database(db_url: str) -> None:
    now = datetime.now(UTC)
    session = {"id": "ses_old", "cwd": "/w", "model": "m", "created_at": now, "updated_at": now}
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:  # a database as the previous kode left it
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0001"))
            await conn.execute(sa.insert(sessions).values(session))
    finally:
        await engine.dispose()

    store = await Store.open(db_url)  # migrates to HEAD
    try:
        async with store.engine.begin() as conn:
            assert await conn.run_sync(current_revisions) == {HEAD}
        assert (await store.get_session("ses_old")).cwd == "/w"
        note = await store.add_memory("project", "/w", "Added after the upgrade.")
        assert [m.id for m in await store.search_memories("/w", "upgrade")] == [note.id]
    finally:
        await store.close()


async def test_downgrade_then_upgrade_again(db_url: str) -> None:
    store = await Store.open(db_url)
    await store.add_memory("user", "/w", "Dropped by the downgrade.")
    await store.close()
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0001"))
            names = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
            assert not {name for name in names if name.startswith("memories")}
    finally:
        await engine.dispose()

    store = await Store.open(db_url)
    try:
        assert await store.list_memories("/w") == []
        note = await store.add_memory("user", "/w", "Back again.")
        assert [m.id for m in await store.search_memories("/w", "again")] == [note.id]
    finally:
        await store.close()


def test_query_terms_are_quoted_words() -> None:
    assert search_terms('Run "the" TESTS, run: tests*') == ["run", "the", "tests"]
    assert fts_query(["run", "the"]) == '"run" OR "the"'
    assert len(search_terms(" ".join(f"w{n}" for n in range(100)))) == MAX_TERMS


async def test_sqlite_without_fts5_falls_back_to_word_matching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_fts = sa.text("CREATE VIRTUAL TABLE temp.memories_fts USING no_such_module(text)")
    monkeypatch.setattr(memories_module, "_FTS_CREATE", no_fts)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'kode.db'}")
    try:
        await store.add_memory("project", "/w", "Unrelated note.")
        wanted = await store.add_memory("project", "/w", "Run the migration tests with nox.")

        assert [m.id for m in await store.search_memories("/w", "migration tests")] == [wanted.id]
    finally:
        await store.close()
