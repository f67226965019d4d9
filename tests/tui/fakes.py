"""A SessionClient that plays scripted events and records the ops it is sent.

For states a real session cannot produce yet (sub-agents) and for fully deterministic snapshots
(fixed ids, times and durations). It implements the same protocol as InProcessClient.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from kode.protocol.events import Event
from kode.protocol.ops import Op

FIXED_TIME = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class ScriptedClient:
    def __init__(self, events: list[Event] = (), session_id: str = "ses_test") -> None:  # type: ignore[assignment]
        self._session_id = session_id
        self.log: list[Event] = []
        self.ops: list[Op] = []
        self.closed = False
        self._changed = asyncio.Event()
        self.push(*events)

    @property
    def session_id(self) -> str:
        return self._session_id

    def push(self, *events: Event) -> None:
        for event in events:
            seq = len(self.log) + 1
            self.log.append(event.model_copy(update={"seq": seq, "session_id": self._session_id, "time": FIXED_TIME}))
        self._changed.set()

    async def submit(self, op: Op) -> None:
        self.ops.append(op)

    async def events(self, since: int = 0) -> AsyncIterator[Event]:
        cursor = since
        while not self.closed:
            while cursor < len(self.log):
                cursor += 1
                yield self.log[cursor - 1]
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> None:
        self.closed = True
        self._changed.set()
