"""SessionClient over a Session in this process: typed objects, no serialisation."""

from __future__ import annotations

from collections.abc import AsyncIterator

from kode.core.session import Session, SessionBusy
from kode.protocol.events import Event
from kode.protocol.ops import Op


class InProcessClient:
    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def session_id(self) -> str:
        return self._session.id

    async def submit(self, op: Op) -> None:
        try:
            await self._session.submit(op)
        except SessionBusy:
            pass  # already reported to every client as an ErrorEvent

    def events(self, since: int = 0) -> AsyncIterator[Event]:
        return self._session.events(since)

    async def close(self) -> None:
        await self._session.close()
