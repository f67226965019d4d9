"""Which database, and an engine set up for it.

SQLite (the default, `data_dir()/kode.db`, through aiosqlite) gets, on every new connection:
`busy_timeout` (wait for another writer instead of failing at once), `journal_mode=WAL` (readers
never block the writer), `synchronous=NORMAL` (safe with WAL: a crash of kode or of the OS loses
no committed transaction; only a power cut may lose the last few) and `foreign_keys=ON` (so
deleting a session deletes its events). sqlite3's own transaction handling is switched off and
kode emits `BEGIN IMMEDIATE` itself, so DDL is transactional and a write transaction takes the
write lock up front instead of failing half way when another process writes (`SQLITE_BUSY`
on lock upgrade). Read-only work uses `read_options()` and a plain deferred `BEGIN`.

PostgreSQL (`KODE_DATABASE_URL=postgresql://…`) goes through asyncpg.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from kode.config.paths import data_dir
from kode.store.errors import UnsupportedDatabase

DATABASE_URL_ENV = "KODE_DATABASE_URL"
DATABASE_FILE = "kode.db"
BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "kode_read_only"
"""Execution option: this transaction only reads (SQLite: deferred BEGIN, no write lock)."""

_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)


def resolve_url(url: str | None = None, environ: Mapping[str, str] | None = None) -> URL:
    """`url`, else `$KODE_DATABASE_URL`, else SQLite at `data_dir()/kode.db`; with an async driver."""
    env = os.environ if environ is None else environ
    raw = url or env.get(DATABASE_URL_ENV) or ""
    if not raw:
        return URL.create("sqlite+aiosqlite", database=str(data_dir(env) / DATABASE_FILE))
    try:
        parsed = make_url(raw)
    except sa.exc.ArgumentError:
        raise UnsupportedDatabase(_mask(raw)) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite", "pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise UnsupportedDatabase(_mask(raw))  # the store is for sessions that survive
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg", "psycopg2", "psycopg"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise UnsupportedDatabase(_mask(raw))


def _mask(raw: str) -> str:
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return raw.rsplit("@", maxsplit=1)[-1]


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL)."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_async_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "kode"}},
    )


def _sqlite_engine(url: URL) -> AsyncEngine:
    # The pool's own reset-on-return is a ROLLBACK, a thread round trip through aiosqlite on
    # every checkin even after a COMMIT; `_on_reset` rolls back only what is still open.
    engine = create_async_engine(url, pool_size=5, max_overflow=5, pool_reset_on_return=None)
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # kode emits BEGIN itself (see module doc)
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @event.listens_for(sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        if state.terminate_only:
            return
        driver = record.driver_connection
        if driver is None or driver.in_transaction:
            dbapi_connection.rollback()

    return engine


def read_options(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool), marked so its transactions only read."""
    return engine.execution_options(**{READ_ONLY: True})


async def db_now(conn: AsyncConnection) -> float:
    """The database's clock, in epoch seconds: the one clock every process on it shares."""
    if conn.dialect.name == "sqlite":
        query = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    else:
        query = "SELECT extract(epoch FROM clock_timestamp())::double precision"
    return float((await conn.exec_driver_sql(query)).scalar_one())
