"""Writing a session's durable events to a store as they happen.

The event log hands each durable event to `EventWriter` synchronously; a background task writes
them in order, batching whatever piled up during the previous write, and reports each committed
seq back to the log, which only then shows the events to subscribers. A write that fails does
not stall the session: the writer detaches, everything pending is released, and the session is
told once (it goes on, unsaved) so the user knows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from kode.core.event_log import EventLog
from kode.protocol.events import Event


class EventSink(Protocol):
    async def append_events(self, session_id: str, events: Sequence[Event]) -> None: ...


class EventWriter:
    def __init__(self, sink: EventSink, log: EventLog, *, on_failure: Callable[[Exception], None]) -> None:
        self.sink = sink
        self.log = log
        self.on_failure = on_failure
        self._queue: list[Event] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.failed: Exception | None = None

    def attach(self) -> None:
        self.log.persist = self._enqueue
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"writer {self.log.session_id}")

    def _enqueue(self, event: Event) -> None:
        self._queue.append(event)
        self._idle.clear()
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    await self.sink.append_events(self.log.session_id, batch)
                except Exception as exc:  # the disk is full, the server went away: keep working unsaved
                    self._detach(exc)
                    return
                self.log.mark_committed(batch[-1].seq)
            self._idle.set()

    def _detach(self, exc: Exception) -> None:
        self.failed = exc
        self.log.persist = None
        self._queue.clear()
        self.log.mark_committed(self.log.last_seq)
        self._idle.set()
        self.on_failure(exc)

    async def flush(self) -> None:
        """Wait until everything emitted so far is stored (or the writer gave up)."""
        await self._idle.wait()

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.log.persist == self._enqueue:
            self.log.persist = None
