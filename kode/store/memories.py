"""Long-term memories: short notes that outlive a session, per project or for the user.

A memory's `scope` says where it is seen: "project" memories only in their `project` (the
workspace path, exactly as the caller names it), "user" memories (stored with `project=""`) in
every project. Listing and searching a project therefore return both scopes.

Search is relevance-ranked. On SQLite it is SQLite's own full-text search, FTS5, ranked by
`bm25(memories_fts)`: for each search, the memories visible in the project are loaded into an
FTS5 table in the connection's TEMP schema, searched, and the table dropped, all in the one read
transaction. A persistent index (a virtual table kept by triggers) would add five tables the
schema model cannot describe, and `schema.py` must stay exactly what the migrations build; a
project has tens to hundreds of notes, which index in about a millisecond. The query is split
into word terms and each is quoted, so text the model or user typed (`"`, `*`, `:`, `-`, `AND`,
parentheses…) never reaches FTS5 as syntax; terms are OR-ed so a note matching some of the words
still shows, ranked below one matching more. On PostgreSQL (and on a SQLite built without FTS5)
the rank is how many terms a note contains (ILIKE, wildcards escaped), then recency.

The functions take an engine so `Store` stays a thin facade over them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kode.store.errors import StoreError
from kode.store.schema import memories

log = logging.getLogger("kode.store")

MemoryScope = Literal["project", "user"]
SCOPES: tuple[str, ...] = ("project", "user")
MAX_TERMS = 16
"""Search uses at most this many distinct terms: a pasted paragraph must not become a huge query."""


class MemoryNotFound(StoreError):
    def __init__(self, memory_id: int) -> None:
        super().__init__(f"no memory with id {memory_id}")
        self.memory_id = memory_id


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One stored memory."""

    id: int
    scope: str
    project: str
    """The workspace path for project memories; "" for user memories."""
    text: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> MemoryRecord:
        return cls(
            id=int(row["id"]),
            scope=row["scope"],
            project=row["project"],
            text=row["text"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def search_terms(query: str) -> list[str]:
    """The distinct word terms of a free-text query, lower-cased, in order, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for term in re.findall(r"\w+", query.lower()):
        seen.setdefault(term, None)
    return list(seen)[:MAX_TERMS]


def fts_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: each term a quoted string (no syntax survives), OR-ed."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _visible_in(project: str) -> sa.ColumnElement[bool]:
    c = memories.c
    return sa.or_(c.scope == "user", sa.and_(c.scope == "project", c.project == project))


async def add(engine: AsyncEngine, scope: str, project: str, text: str) -> MemoryRecord:
    if scope not in SCOPES:
        raise ValueError(f"scope must be 'project' or 'user', not {scope!r}")
    text = text.strip()
    if not text:
        raise ValueError("a memory needs some text")
    if scope == "project" and not project:
        raise ValueError("a project memory needs its project")
    now = datetime.now(UTC)
    values = {
        "scope": scope,
        "project": project if scope == "project" else "",
        "text": text,
        "created_at": now,
        "updated_at": now,
    }
    async with engine.begin() as conn:
        result = await conn.execute(sa.insert(memories).values(values).returning(memories.c.id))
        return await _get(conn, int(result.scalar_one()))


async def list_for(engine: AsyncEngine, project: str) -> list[MemoryRecord]:
    """Both scopes, oldest first: the order they were learnt in."""
    query = sa.select(memories).where(_visible_in(project)).order_by(memories.c.created_at, memories.c.id)
    async with engine.begin() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [MemoryRecord.from_row(row) for row in rows]


async def update(engine: AsyncEngine, memory_id: int, text: str) -> MemoryRecord:
    text = text.strip()
    if not text:
        raise ValueError("a memory needs some text (delete it instead)")
    async with engine.begin() as conn:
        query = sa.update(memories).where(memories.c.id == memory_id)
        result = await conn.execute(query.values(text=text, updated_at=datetime.now(UTC)))
        if result.rowcount != 1:
            raise MemoryNotFound(memory_id)
        return await _get(conn, memory_id)


async def delete(engine: AsyncEngine, memory_id: int) -> None:
    async with engine.begin() as conn:
        result = await conn.execute(sa.delete(memories).where(memories.c.id == memory_id))
        if result.rowcount != 1:
            raise MemoryNotFound(memory_id)


async def search(engine: AsyncEngine, project: str, query: str, limit: int = 5) -> list[MemoryRecord]:
    """The memories visible in `project` that match `query`, most relevant first."""
    terms = search_terms(query)
    if not terms or limit <= 0:
        return []
    async with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            rows = await _search_fts(conn, project, terms, limit)
        else:
            rows = await _search_ilike(conn, project, terms, limit)
    return [MemoryRecord.from_row(row) for row in rows]


_FTS_DROP = sa.text("DROP TABLE IF EXISTS temp.memories_fts")
_FTS_CREATE = sa.text("CREATE VIRTUAL TABLE temp.memories_fts USING fts5(text, tokenize='porter unicode61')")
_FTS_FILL = sa.text(
    "INSERT INTO temp.memories_fts(rowid, text) SELECT id, text FROM main.memories "
    "WHERE scope = 'user' OR (scope = 'project' AND project = :project)"
)
_FTS_SEARCH = sa.text(
    "SELECT m.* FROM temp.memories_fts JOIN main.memories AS m ON m.id = memories_fts.rowid "
    "WHERE memories_fts MATCH :match "
    "ORDER BY bm25(memories_fts), m.updated_at DESC, m.id DESC LIMIT :limit"
).columns(*memories.c)
"""Typed by `memories`' columns so times come back as aware datetimes, as from every other query."""


_no_fts5_noted = False


def _note_no_fts5() -> None:
    """Say it once per process, not on every request."""
    global _no_fts5_noted
    _no_fts5_noted = True


async def _search_fts(conn: AsyncConnection, project: str, terms: list[str], limit: int) -> list[Any]:
    await conn.execute(_FTS_DROP)  # never left behind (a failed search rolls back), but be sure
    try:
        await conn.execute(_FTS_CREATE)
    except OperationalError:  # SQLite built without FTS5: rank the portable way
        if not _no_fts5_noted:
            log.warning("this SQLite has no FTS5; memory search falls back to word matching")
            _note_no_fts5()
        return await _search_ilike(conn, project, terms, limit)
    try:
        await conn.execute(_FTS_FILL, {"project": project})
        params = {"match": fts_query(terms), "limit": limit}
        return list((await conn.execute(_FTS_SEARCH, params)).mappings().all())
    finally:
        await conn.execute(_FTS_DROP)


async def _search_ilike(conn: AsyncConnection, project: str, terms: list[str], limit: int) -> list[Any]:
    c = memories.c
    score = sum(
        (sa.case((c.text.icontains(term, autoescape=True), 1), else_=0) for term in terms),
        sa.literal(0),
    ).label("score")
    inner = sa.select(memories, score).where(_visible_in(project)).subquery()
    query = (
        sa.select(*[inner.c[col.name] for col in memories.c])
        .where(inner.c.score > 0)
        .order_by(inner.c.score.desc(), inner.c.updated_at.desc(), inner.c.id.desc())
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


async def _get(conn: AsyncConnection, memory_id: int) -> MemoryRecord:
    row = (await conn.execute(sa.select(memories).where(memories.c.id == memory_id))).mappings().first()
    if row is None:
        raise MemoryNotFound(memory_id)
    return MemoryRecord.from_row(row)
