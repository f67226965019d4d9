"""The store: sessions and their durable event logs, in SQLite or PostgreSQL.

`Store.open()` picks the database (`url`, `$KODE_DATABASE_URL`, or `data_dir()/kode.db`),
moves a corrupt SQLite file aside (noting it in `warnings` for the front-end to print), applies
the migrations and hands back a ready store. Every write is one transaction.

`append_events` is idempotent: an event already stored at its (session, seq) with the same
content is skipped, so a caller may retry a batch whose commit it did not see. A different event
at a stored seq raises `SeqConflict` and stores nothing: two writers on one session never
interleave. Pass the session's `Lease` to also check, in the same transaction, that no other
process has taken the session over.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kode.protocol.codec import parse_event
from kode.protocol.events import Event
from kode.store import leases, memories, opening, repo_tags
from kode.store.engine import read_options
from kode.store.errors import (
    AmbiguousSession,
    SeqConflict,
    SessionExists,
    SessionNotFound,
)
from kode.store.event_rows import Totals, to_rows, totals_of
from kode.store.records import SessionRecord
from kode.store.schema import events as events_t
from kode.store.schema import sessions

log = logging.getLogger("kode.store")


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, engine: AsyncEngine, *, warnings: list[str] | None = None) -> None:
        self._engine = engine
        self._read = read_options(engine)
        self._leases: set[leases.Lease] = set()
        self.warnings: list[str] = warnings or []
        """Things the user should hear about (a corrupt database moved aside), once."""

    @classmethod
    async def open(cls, url: str | None = None) -> Store:
        engine, warnings = await opening.open_engine(url)
        return cls(engine, warnings=warnings)

    @property
    def dialect(self) -> str:
        """The backend: "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        """Release the leases this store holds, then close every connection."""
        for lease in list(self._leases):
            try:
                await lease.release()
            except Exception as exc:  # the lease lapses on its own
                log.warning("could not release the lease on %s: %s", lease.session_id, exc)
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sessions ------------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        id: str,  # noqa: A002 - the column's name
        cwd: str,
        model: str,
        title: str = "",
        forked_from: str | None = None,
        forked_at_seq: int | None = None,
    ) -> SessionRecord:
        now = _now()
        values = {
            "id": id,
            "title": title,
            "cwd": cwd,
            "model": model,
            "status": "idle",
            "created_at": now,
            "updated_at": now,
            "forked_from": forked_from,
            "forked_at_seq": forked_at_seq,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(sa.insert(sessions).values(values))
                return await self._get(conn, id)
        except IntegrityError:
            async with self._read.begin() as conn:
                if await self._exists(conn, id):
                    raise SessionExists(id) from None
            raise SessionNotFound(forked_from or id) from None

    async def get_session(self, id_or_prefix: str) -> SessionRecord:
        """The session with this id, or the only one whose id starts with it (like git)."""
        if not id_or_prefix:
            raise SessionNotFound(id_or_prefix)
        async with self._read.begin() as conn:
            exact = (await conn.execute(sa.select(sessions).where(sessions.c.id == id_or_prefix))).mappings().first()
            if exact is not None:
                return SessionRecord.from_row(exact)
            query = (
                sa.select(sessions)
                .where(sessions.c.id.startswith(id_or_prefix, autoescape=True))
                .order_by(sessions.c.updated_at.desc())
                .limit(11)
            )
            rows = (await conn.execute(query)).mappings().all()
        if not rows:
            raise SessionNotFound(id_or_prefix)
        if len(rows) > 1:
            raise AmbiguousSession(id_or_prefix, [row["id"] for row in rows])
        return SessionRecord.from_row(rows[0])

    async def list_sessions(self, *, cwd: str | None = None, limit: int = 50) -> list[SessionRecord]:
        """Most recently active first."""
        query = sa.select(sessions).order_by(sessions.c.updated_at.desc(), sessions.c.id.desc()).limit(limit)
        if cwd is not None:
            query = query.where(sessions.c.cwd == cwd)
        async with self._read.begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [SessionRecord.from_row(row) for row in rows]

    async def latest_session(self, cwd: str) -> SessionRecord | None:
        found = await self.list_sessions(cwd=cwd, limit=1)
        return found[0] if found else None

    async def update_session(
        self,
        id: str,  # noqa: A002
        *,
        title: str | None = None,
        status: str | None = None,
        model: str | None = None,
    ) -> SessionRecord:
        changes: dict[str, Any] = {"updated_at": _now()}
        for name, value in (("title", title), ("status", status), ("model", model)):
            if value is not None:
                changes[name] = value
        async with self._engine.begin() as conn:
            result = await conn.execute(sa.update(sessions).where(sessions.c.id == id).values(changes))
            if result.rowcount != 1:
                raise SessionNotFound(id)
            return await self._get(conn, id)

    async def delete_session(self, id: str) -> None:  # noqa: A002
        """Delete a session and its events; SessionBusy while another process holds its lease."""
        mine = [lease for lease in self._leases if lease.session_id == id and lease.held]
        async with self._engine.begin() as conn:
            await leases.check_not_busy(conn, id, ours={lease.token for lease in mine})
            result = await conn.execute(sa.delete(sessions).where(sessions.c.id == id))
            if result.rowcount != 1:
                raise SessionNotFound(id)
        for lease in mine:
            lease.forget()  # its row went with the session

    async def fork_session(
        self,
        id: str,  # noqa: A002
        *,
        new_id: str,
        at_seq: int | None = None,
        title: str | None = None,
    ) -> SessionRecord:
        """A new session holding a copy of `id`'s events up to `at_seq` (all of them by default),
        rewritten to the new session's id; the fork records where it came from."""
        async with self._engine.begin() as conn:
            source = await self._get(conn, id)
            cut = source.last_seq if at_seq is None else min(at_seq, source.last_seq)
            payloads = await self._payloads(conn, id, since=0, until=cut)
            copied = [parse_event(p).model_copy(update={"session_id": new_id}) for p in payloads]
            now = _now()
            values = {
                "id": new_id,
                "title": source.title if title is None else title,
                "cwd": source.cwd,
                "model": source.model,
                "status": "idle",
                "created_at": now,
                "updated_at": now,
                "forked_from": source.id,
                "forked_at_seq": cut,
            }
            try:
                await conn.execute(sa.insert(sessions).values(values))
            except IntegrityError:
                raise SessionExists(new_id) from None
            if copied:
                await conn.execute(_INSERT_EVENTS, to_rows(new_id, copied))
                await self._add_totals(conn, new_id, totals_of(copied))
            return await self._get(conn, new_id)

    # -- events --------------------------------------------------------------------------------

    async def append_events(
        self, session_id: str, events: Sequence[Event], *, lease: leases.Lease | None = None
    ) -> int:
        """Store durable events in one transaction; returns how many were new (see module doc)."""
        if lease is not None and lease.session_id != session_id:
            raise ValueError(f"the lease is for session {lease.session_id}, not {session_id}")
        if not events:
            return 0
        rows = to_rows(session_id, events)
        try:
            async with self._engine.begin() as conn:
                if lease is not None:
                    await lease.check(conn)
                await conn.execute(_INSERT_EVENTS, rows)
                await self._add_totals(conn, session_id, totals_of(events))
            return len(rows)
        except IntegrityError:
            pass  # a seq already stored, or no such session: sort it out below
        async with self._engine.begin() as conn:
            if lease is not None:
                await lease.check(conn)
            if not await self._exists(conn, session_id):
                raise SessionNotFound(session_id)
            stored = await self._stored_payloads(conn, session_id, [row["seq"] for row in rows])
            clashes = [row["seq"] for row in rows if row["seq"] in stored and stored[row["seq"]] != row["payload"]]
            if clashes:
                raise SeqConflict(session_id, clashes)
            fresh = [event for event in events if event.seq not in stored]
            if fresh:
                await conn.execute(_INSERT_EVENTS, [row for row in rows if row["seq"] not in stored])
                await self._add_totals(conn, session_id, totals_of(fresh))
            return len(fresh)

    async def append_event(self, event: Event, *, lease: leases.Lease | None = None) -> int:
        """One event, one transaction: the `EventLog.persist` path."""
        return await self.append_events(event.session_id, [event], lease=lease)

    async def load_events(self, session_id: str, since: int = 0) -> list[Event]:
        """The stored events after seq `since`, in seq order."""
        return [parse_event(payload) for payload in await self.load_event_json(session_id, since)]

    async def load_event_json(self, session_id: str, since: int = 0) -> list[str]:
        """The same, as the stored JSON lines (for streaming them on without re-encoding)."""
        async with self._read.begin() as conn:
            payloads = await self._payloads(conn, session_id, since=since)
            if not payloads and not await self._exists(conn, session_id):
                raise SessionNotFound(session_id)
        return payloads

    # -- memories (see kode.store.memories) ----------------------------------------------------

    async def add_memory(self, scope: str, project: str, text: str) -> memories.MemoryRecord:
        """Save a note; `scope` is "project" (seen in `project` only) or "user" (everywhere)."""
        return await memories.add(self._engine, scope, project, text)

    async def list_memories(self, project: str) -> list[memories.MemoryRecord]:
        """Every memory visible in `project` (its own and the user's), oldest first."""
        return await memories.list_for(self._read, project)

    async def update_memory(self, id: int, text: str) -> memories.MemoryRecord:  # noqa: A002
        return await memories.update(self._engine, id, text)

    async def delete_memory(self, id: int) -> None:  # noqa: A002
        await memories.delete(self._engine, id)

    async def search_memories(self, project: str, query: str, limit: int = 5) -> list[memories.MemoryRecord]:
        """The memories visible in `project` that match `query`, most relevant first."""
        return await memories.search(self._read, project, query, limit)

    # -- repo-map tags --------------------------------------------------------------------------

    async def get_repo_tags(self, keys: Sequence[str]) -> dict[str, str]:
        """Stored tags (JSON) of the content `keys` that have any (kode.repo.cache.TagStore)."""
        return await repo_tags.get(self._read, keys)

    async def put_repo_tags(self, rows: Mapping[str, str]) -> None:
        """Keep newly parsed tags; keys already stored are left as they are."""
        await repo_tags.put(self._engine, rows)

    # -- leases --------------------------------------------------------------------------------

    async def acquire(
        self,
        session_id: str,
        owner: str = "kode",
        *,
        ttl: float = leases.DEFAULT_TTL,
        heartbeat: bool = True,
    ) -> leases.Lease:
        """The right to write `session_id`, renewed in the background while `heartbeat` is on;
        SessionBusy if another live process has it. Released by `release()` or `close()`."""
        lease = await leases.acquire(self._engine, session_id, owner, ttl=ttl, on_done=self._leases.discard)
        self._leases.add(lease)
        if heartbeat:
            lease.start_heartbeat()
        return lease

    # -- helpers -------------------------------------------------------------------------------

    async def _get(self, conn: AsyncConnection, session_id: str) -> SessionRecord:
        row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).mappings().first()
        if row is None:
            raise SessionNotFound(session_id)
        return SessionRecord.from_row(row)

    async def _exists(self, conn: AsyncConnection, session_id: str) -> bool:
        query = sa.select(sessions.c.id).where(sessions.c.id == session_id)
        return (await conn.execute(query)).first() is not None

    async def _payloads(
        self, conn: AsyncConnection, session_id: str, *, since: int, until: int | None = None
    ) -> list[str]:
        query = (
            sa.select(events_t.c.payload)
            .where(events_t.c.session_id == session_id, events_t.c.seq > since)
            .order_by(events_t.c.seq)
        )
        if until is not None:
            query = query.where(events_t.c.seq <= until)
        return list((await conn.execute(query)).scalars())

    async def _stored_payloads(self, conn: AsyncConnection, session_id: str, seqs: list[int]) -> dict[int, str]:
        query = sa.select(events_t.c.seq, events_t.c.payload).where(
            events_t.c.session_id == session_id, events_t.c.seq.between(min(seqs), max(seqs))
        )
        wanted = set(seqs)
        return {row.seq: row.payload for row in await conn.execute(query) if row.seq in wanted}

    async def _add_totals(self, conn: AsyncConnection, session_id: str, totals: Totals) -> None:
        params = {
            "sid": session_id,
            "d_input": totals.input_tokens,
            "d_output": totals.output_tokens,
            "d_cache": totals.cache_read_tokens,
            "d_cost": totals.cost_usd,
            "d_count": totals.count,
            "seq": totals.last_seq,
            "new_model": totals.model,
            "now": _now(),
        }
        result = await conn.execute(_ADD_TOTALS, params)
        if result.rowcount != 1:
            raise SessionNotFound(session_id)


def _add_totals_statement() -> sa.Update:
    """Built once: SQLAlchemy then reuses its cache key and compiled form on every append."""
    c = sessions.c
    seq = sa.bindparam("seq", type_=sa.BigInteger)
    return (
        sa.update(sessions)
        .where(c.id == sa.bindparam("sid"))
        .values(
            input_tokens=c.input_tokens + sa.bindparam("d_input", type_=sa.BigInteger),
            output_tokens=c.output_tokens + sa.bindparam("d_output", type_=sa.BigInteger),
            cache_read_tokens=c.cache_read_tokens + sa.bindparam("d_cache", type_=sa.BigInteger),
            cost_usd=c.cost_usd + sa.bindparam("d_cost", type_=sa.Double),
            event_count=c.event_count + sa.bindparam("d_count", type_=sa.BigInteger),
            last_seq=sa.case((c.last_seq < seq, seq), else_=c.last_seq),
            model=sa.func.coalesce(sa.bindparam("new_model", type_=sa.Text), c.model),
            updated_at=sa.bindparam("now", type_=sessions.c.updated_at.type),
        )
    )


_ADD_TOTALS = _add_totals_statement()
_INSERT_EVENTS = sa.insert(events_t)
