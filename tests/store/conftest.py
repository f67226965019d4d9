"""Fixtures for the store: each store test runs against SQLite and against PostgreSQL.

PostgreSQL is a throwaway cluster (see `pg.py`) started once per test session, on first use, with
one fresh database per test. Missing server binaries fail the tests with the install command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from pg import PostgresCluster, PostgresUnavailable

from kode.store import Store

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to a new, empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'kode.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return await cluster.create_database()


@pytest.fixture
async def open_store(db_url: str) -> AsyncIterator[Callable[[], Awaitable[Store]]]:
    """Open more Store instances on the test's database (closed at the end)."""
    opened: list[Store] = []

    async def _open() -> Store:
        store = await Store.open(db_url)
        opened.append(store)
        return store

    yield _open
    for store in reversed(opened):
        await store.close()


@pytest.fixture
async def store(open_store: Callable[[], Awaitable[Store]]) -> Store:
    return await open_store()
