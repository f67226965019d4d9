"""Persistence: sessions and their durable event logs, in SQLite (default) or PostgreSQL.

    store = await Store.open()            # or Store.open("postgresql://…"), $KODE_DATABASE_URL
    for warning in store.warnings: ...    # e.g. a corrupt database was moved aside
    record = await store.create_session(id=sid, cwd=cwd, model=model)
    async with await store.acquire(sid, "kode tui") as lease:
        await store.append_events(sid, events, lease=lease)

Modules: `engine` (URL, engine, SQLite PRAGMAs), `opening` (corrupt-file handling, then
`migrate`), `schema` (tables), `leases` (one writer per session), `store` (the API),
`records` (what it returns), `errors`, `memories` (long-term notes, searched with FTS5 on
SQLite) and `memory_port` (those notes as the `remember`/`recall` tools' port).
"""

from kode.store.errors import (
    AmbiguousSession,
    LeaseHolder,
    LeaseLost,
    SeqConflict,
    SessionBusy,
    SessionExists,
    SessionNotFound,
    StoreError,
    StoreTooNew,
    StoreUnavailable,
    UnsupportedDatabase,
)
from kode.store.leases import Lease
from kode.store.memories import MemoryNotFound, MemoryRecord
from kode.store.memory_port import StoreMemoryPort
from kode.store.records import SessionRecord
from kode.store.store import Store

__all__ = [
    "AmbiguousSession",
    "Lease",
    "LeaseHolder",
    "LeaseLost",
    "MemoryNotFound",
    "MemoryRecord",
    "SeqConflict",
    "SessionBusy",
    "SessionExists",
    "SessionNotFound",
    "SessionRecord",
    "Store",
    "StoreMemoryPort",
    "StoreError",
    "StoreTooNew",
    "StoreUnavailable",
    "UnsupportedDatabase",
]
