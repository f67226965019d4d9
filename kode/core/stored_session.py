"""A Session bound to a store: created or resumed, leased, and written as it happens.

The lease makes this process the session's only writer (a second one gets "session is busy"),
the EventWriter stores every durable event when it is emitted, and a turn that a killed process
left open is closed as interrupted before anything else happens, so the session can go on.
"""

from __future__ import annotations

from collections.abc import Sequence

from kode.core.persistence import EventWriter
from kode.core.session import Session
from kode.protocol.events import Event, TurnFinished
from kode.store import Lease, Store

TITLE_LENGTH = 60


def provisional_title(prompt: str) -> str:
    """The first line of the first prompt, shortened; the `fast` model may improve it later."""
    line = prompt.strip().splitlines()[0] if prompt.strip() else ""
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


class _LeasedSink:
    """Appends under the lease, so a process that lost its lease can never interleave writes."""

    def __init__(self, store: Store, lease: Lease) -> None:
        self.store = store
        self.lease = lease

    async def append_events(self, session_id: str, events: Sequence[Event]) -> None:
        await self.store.append_events(session_id, events, lease=self.lease)


class StoredSession:
    def __init__(self, store: Store, session: Session, lease: Lease, writer: EventWriter) -> None:
        self.store = store
        self.session = session
        self.lease = lease
        self.writer = writer

    @classmethod
    async def begin(cls, store: Store, session: Session, *, owner: str, new: bool, title: str = "") -> StoredSession:
        """Create (or adopt) the stored session, take its lease, start writing.

        Raises `kode.store.SessionBusy` when another live process holds the session.
        """
        if new:
            await store.create_session(
                id=session.id, cwd=session.agent.env.root, model=session.agent.settings.model, title=title
            )
        lease = await store.acquire(session.id, owner)
        writer = EventWriter(_LeasedSink(store, lease), session.log, on_failure=session.report_unsaved)
        writer.attach()
        session.close_interrupted_turn()
        session.start()
        await store.update_session(session.id, status="active")
        return cls(store, session, lease, writer)

    async def close(self) -> None:
        """Cancel anything running, store what is left, record the status, give up the lease."""
        await self.session.close()
        await self.writer.close()
        if self.writer.failed is None:
            await self.store.update_session(
                self.session.id, status=_status_of(self.session), model=self.session.agent.settings.model
            )
        await self.lease.release()


def _status_of(session: Session) -> str:
    for event in reversed(session.log.durable_events()):
        if isinstance(event, TurnFinished) and event.agent_id == "root":
            return event.status.value
    return "idle"
