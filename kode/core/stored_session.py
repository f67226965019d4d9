"""A Session bound to a store: created or resumed, leased, and written as it happens.

The lease makes this process the session's only writer (a second one gets "session is busy"),
the EventWriter stores every durable event when it is emitted, and a turn that a killed process
left open is closed as interrupted before anything else happens, so the session can go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kode.core.persistence import EventWriter
from kode.core.session import Session
from kode.core.titles import generate_title
from kode.llm.complete import side_call
from kode.protocol.common import ROOT_AGENT, TurnStatus
from kode.protocol.events import Event, TurnFinished, UserMessage
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
        self._titling: asyncio.Task[None] | None = None

    @classmethod
    async def begin(
        cls, store: Store, session: Session, *, owner: str, new: bool, title: str = "", title_model: str | None = None
    ) -> StoredSession:
        """Create (or adopt) the stored session, take its lease, start writing. With
        `title_model`, a new session is retitled by that model after its first exchange.

        Raises `kode.store.SessionBusy` when another live process holds the session.
        """
        if new:
            await store.create_session(
                id=session.id, cwd=session.agent.env.location, model=session.agent.settings.model, title=title
            )
        lease = await store.acquire(session.id, owner)
        writer = EventWriter(_LeasedSink(store, lease), session.log, on_failure=session.report_unsaved)
        writer.attach()
        session.close_interrupted_turn()
        session.start()
        await store.update_session(session.id, status="active")
        stored = cls(store, session, lease, writer)
        if new and title_model:
            stored._titling = asyncio.get_running_loop().create_task(stored._retitle(title_model))
        return stored

    async def _retitle(self, model_name: str) -> None:
        """After the first completed exchange, ask `model_name` for a title (in the background)."""
        first_user = ""
        async for event in self.session.events(0):
            if isinstance(event, UserMessage) and not first_user:
                first_user = event.text
            if isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
                if event.status is not TurnStatus.COMPLETED:
                    return
                settings = self.session.agent.settings
                title, call = await generate_title(
                    self.session.agent.model,
                    model_name=model_name,
                    user_text=first_user,
                    answer=event.result,
                    api_base=settings.api_base,
                    api_key=settings.api_key,
                )
                if call is not None:
                    self.session.emit(side_call("title", call))
                if title:
                    await self.store.update_session(self.session.id, title=title)
                return

    async def close(self) -> None:
        """Cancel anything running, store what is left, record the status, give up the lease."""
        if self._titling is not None:  # a title is never worth waiting for
            self._titling.cancel()
            await asyncio.gather(self._titling, return_exceptions=True)
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
