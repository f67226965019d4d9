"""Parsed repo-map tags by content key (kode.repo.cache makes the keys and the JSON).

The store keeps them rather than a file of their own so that every session and process on one
database (a team's PostgreSQL server included) shares them: a file's content is parsed once.
Entries are immutable (the key is a content hash), so a write only ever adds; the oldest are
dropped past `MAX_ROWS` so that a long-lived store does not grow without bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from kode.store.schema import repo_tags

MAX_ROWS = 200_000
"""About 4× the files of a large monorepo; beyond it the oldest entries go."""
_CHUNK = 500
"""Keys per `IN (…)` query: well inside every backend's limit on bound parameters."""


async def get(engine: AsyncEngine, keys: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    async with engine.begin() as conn:
        for start in range(0, len(keys), _CHUNK):
            query = sa.select(repo_tags.c.key, repo_tags.c.data).where(
                repo_tags.c.key.in_(keys[start:start + _CHUNK])
            )
            found.update((key, data) for key, data in (await conn.execute(query)).all())
    return found


async def put(engine: AsyncEngine, rows: Mapping[str, str], *, max_rows: int = MAX_ROWS) -> None:
    """Add the entries not stored yet (another process may have added the same ones)."""
    if not rows:
        return
    now = datetime.now(UTC)
    values = [{"key": key, "data": data, "created_at": now} for key, data in rows.items()]
    async with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(dialect.insert(repo_tags).on_conflict_do_nothing(index_elements=["key"]), values)
        count = (await conn.execute(sa.select(sa.func.count()).select_from(repo_tags))).scalar_one()
        if count > max_rows:
            oldest = sa.select(repo_tags.c.key).order_by(repo_tags.c.created_at).limit(count - max_rows)
            await conn.execute(sa.delete(repo_tags).where(repo_tags.c.key.in_(oldest)))
