"""Opening a store: migrations applied, idempotent, complete, never applied to a newer database;
a server that is not there is reported as such."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from kode.store import Store, StoreTooNew, StoreUnavailable
from kode.store.migrate import (
    HEAD,
    MIGRATIONS_DIR,
    alembic_config,
    current_revisions,
    migrate,
)
from kode.store.schema import metadata


def test_head_is_the_newest_script() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]
    for shipped in ("env.py", "script.py.mako", "__init__.py", "versions/__init__.py"):
        assert (MIGRATIONS_DIR / shipped).is_file()


async def test_an_empty_database_is_migrated_once(db_url: str) -> None:
    store = await Store.open(db_url)
    try:
        async with store.engine.connect() as conn:
            assert await conn.run_sync(current_revisions) == {HEAD}
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert {"sessions", "events", "session_leases", "alembic_version"} <= tables
        await store.create_session(id="ses_a", cwd="/w", model="m")
    finally:
        await store.close()

    again = await Store.open(db_url)
    try:
        assert await migrate(again.engine) is False  # nothing left to do
        assert (await again.get_session("ses_a")).id == "ses_a"
    finally:
        await again.close()


async def test_the_migrated_schema_is_the_models_schema(store: Store) -> None:
    def differences(conn: sa.Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata))

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_concurrent_first_opens_do_not_race(db_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(db_url) for _ in range(3)))
    try:
        await stores[0].create_session(id="ses_a", cwd="/w", model="m")
        assert (await stores[2].get_session("ses_a")).id == "ses_a"
    finally:
        for store in stores:
            await store.close()


async def test_a_newer_database_is_refused_untouched(open_store: Callable[[], Awaitable[Store]], db_url: str) -> None:
    store = await open_store()
    await store.create_session(id="ses_a", cwd="/w", model="m")
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    await store.close()

    with pytest.raises(StoreTooNew) as refused:
        await Store.open(db_url)

    assert str(refused.value) == (
        "this database was written by a newer kode (revision 9999_future); "
        "upgrade kode or use another KODE_DATABASE_URL"
    )
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(current_revisions) == {"9999_future"}
            assert (await conn.execute(sa.text("SELECT id FROM sessions"))).scalars().all() == ["ses_a"]
    finally:
        await engine.dispose()


async def test_an_unreachable_server_is_named_without_its_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes

    with pytest.raises(StoreUnavailable) as unavailable:
        await Store.open(f"postgresql://kode:hunter2@127.0.0.1:{port}/kode")

    assert f"127.0.0.1:{port}/kode" in str(unavailable.value)
    assert "hunter2" not in str(unavailable.value)
