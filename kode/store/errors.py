"""What can go wrong in the store, as exceptions a front-end can show as they are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime


class StoreError(Exception):
    """Base of every store error."""


class SessionNotFound(StoreError, LookupError):
    def __init__(self, id_or_prefix: str) -> None:
        super().__init__(f"no session matches {id_or_prefix!r}")
        self.id_or_prefix = id_or_prefix


class AmbiguousSession(StoreError, LookupError):
    def __init__(self, prefix: str, candidates: Sequence[str]) -> None:
        shown = ", ".join(candidates[:5]) + (", …" if len(candidates) > 5 else "")
        super().__init__(f"{prefix!r} matches more than one session: {shown}; type more of the id")
        self.prefix = prefix
        self.candidates = list(candidates)


class SessionExists(StoreError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"a session with id {session_id!r} already exists")
        self.session_id = session_id


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a session's lease, as recorded in the database."""

    owner: str
    host: str
    pid: int
    acquired_at: float
    expires_at: float

    def describe(self, now: float) -> str:
        since = datetime.fromtimestamp(self.acquired_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        left = max(0.0, self.expires_at - now)
        return (
            f"{self.owner} (pid {self.pid} on {self.host}) since {since}, lease expires in {left:.0f}s unless renewed"
        )


class SessionBusy(StoreError):
    """Another live process is writing this session."""

    def __init__(self, session_id: str, holder: LeaseHolder, now: float) -> None:
        super().__init__(f"session {session_id} is busy: it is open in {holder.describe(now)}")
        self.session_id = session_id
        self.holder = holder


class LeaseLost(StoreError):
    """Our lease expired and another process took the session, or it was released or deleted."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"lost the lease on session {session_id}: another process may be writing it")
        self.session_id = session_id


class SeqConflict(StoreError):
    """An event with this (session, seq) is stored already, with different content."""

    def __init__(self, session_id: str, seqs: Sequence[int]) -> None:
        super().__init__(
            f"session {session_id} already has different events at seq {', '.join(map(str, seqs[:10]))}"
            " (two writers on one session?)"
        )
        self.session_id = session_id
        self.seqs = list(seqs)


class StoreTooNew(StoreError):
    def __init__(self, revision: str) -> None:
        super().__init__(
            f"this database was written by a newer kode (revision {revision}); "
            "upgrade kode or use another KODE_DATABASE_URL"
        )
        self.revision = revision


class StoreUnavailable(StoreError):
    """The database server cannot be reached or used (PostgreSQL: down, wrong URL, no access)."""


class UnsupportedDatabase(StoreError):
    def __init__(self, url: str) -> None:
        super().__init__(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")
