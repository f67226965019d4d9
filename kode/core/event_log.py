"""A session's append-only event log and its subscribers.

Every event gets the next `seq`. Durable events are kept for the life of the session (and handed
to a persistence hook); live-only deltas sit in a bounded ring. A subscriber is just a cursor:
`events(since=N)` replays durable events after N, then follows the log as it grows. There are no
per-subscriber queues to overflow, so durable events are never dropped; a subscriber that falls
behind by more than the ring holds gets a `Lagged` event counting the deltas it missed (their
content is folded into the durable events it still receives).

With a persist hook attached, durable events become visible to subscribers only once the hook
reports them committed (`mark_committed`), and nothing after them is shown before: whatever a
client has seen survives a crash. Without a hook every event is visible at once.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from kode.protocol.events import (
    Event,
    Lagged,
    MessageCompleted,
    Retrying,
    ToolCallFinished,
)

PersistHook = Callable[[Event], None]


class EventLog:
    def __init__(self, session_id: str, *, live_capacity: int = 4096, start_seq: int = 0) -> None:
        self.session_id = session_id
        self._seq = start_seq
        self._durable: list[Event] = []
        self._durable_seqs: list[int] = []
        self._live: deque[Event] = deque(maxlen=live_capacity)
        self._changed = asyncio.Event()
        self._completed: set[str] = set()
        self._closed = False
        self._pending: deque[int] = deque()
        """Seqs of durable events handed to `persist` and not yet committed, oldest first."""
        self.persist: PersistHook | None = None

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def closed(self) -> bool:
        return self._closed

    def durable_events(self) -> list[Event]:
        return list(self._durable)

    def load(self, events: list[Event]) -> None:
        """Seed the log with stored durable events (resume); does not call the persist hook."""
        for event in events:
            self._durable.append(event)
            self._durable_seqs.append(event.seq)
            self._completed.update(_completes(event))
            self._seq = max(self._seq, event.seq)

    def append(self, event: Event) -> Event:
        """Stamp `event` with the session id, the next seq and the time, record it, wake readers."""
        if self._closed:
            raise RuntimeError("event log is closed")
        self._seq += 1
        stamped = event.model_copy(
            update={"session_id": self.session_id, "seq": self._seq, "time": datetime.now(UTC)}
        )
        if stamped.durable:
            self._durable.append(stamped)
            self._durable_seqs.append(stamped.seq)
            self._completed.update(_completes(stamped))
            if self.persist is not None:
                self._pending.append(stamped.seq)
                self.persist(stamped)
        else:
            self._live.append(stamped)
        self._wake()
        return stamped

    def mark_committed(self, seq: int) -> None:
        """The persist hook has durably stored every event up to `seq`."""
        while self._pending and self._pending[0] <= seq:
            self._pending.popleft()
        self._wake()

    @property
    def visible_seq(self) -> int:
        """Subscribers see events up to here: everything before the oldest uncommitted event."""
        return self._pending[0] - 1 if self._pending else self._seq

    def close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _after(self, cursor: int, *, fold: bool) -> tuple[list[Event], int, int]:
        """Events after `cursor` in seq order, how many deltas after it the ring already lost, and
        the seq up to which everything was considered (the reader's next cursor).

        With `fold` (a reader catching up on history), deltas of a message or tool call that has
        since completed are left out: the completing durable event carries their content. A reader
        that is following gets every delta.
        """
        limit = self.visible_seq
        durable = self._durable[bisect_right(self._durable_seqs, cursor) : bisect_right(self._durable_seqs, limit)]
        if not self._live or self._live[-1].seq <= cursor:
            return durable, 0, limit
        live: list[Event] = []
        for event in reversed(self._live):  # newest first: stop at the cursor, not at the ring's end
            if event.seq <= cursor:
                break
            if event.seq <= limit and not (fold and _key(event) in self._completed):
                live.append(event)
        live.reverse()
        oldest = self._live[0].seq
        missed = 0
        if oldest > cursor + 1:
            durable_between = bisect_left(self._durable_seqs, oldest) - bisect_right(self._durable_seqs, cursor)
            missed = (oldest - cursor - 1) - durable_between
        return sorted([*durable, *live], key=lambda e: e.seq), missed, limit

    async def events(self, since: int = 0, *, follow: bool = True) -> AsyncIterator[Event]:
        """Events after `since` (durable history, plus deltas still in flight), then everything
        new as it happens, until the log is closed.

        A reader from the start (`since=0`) is catching up on history: deltas whose message has
        completed are folded into it. A reader resuming from a seq it has seen (an SSE client's
        Last-Event-ID, a reconnecting WebSocket) gets exactly what followed, deltas included, or
        a `Lagged` event counting the deltas the ring no longer holds.
        """
        cursor = since
        first = True
        while True:
            waiter = self._changed
            catching_up = first and since == 0
            batch, missed, considered = self._after(cursor, fold=catching_up)
            if missed and not catching_up:
                # History is complete in the durable events; only a reader that was following (or
                # resumes where it stopped) and fell behind the ring has really missed something.
                yield Lagged(session_id=self.session_id, seq=cursor, missed=missed)
            first = False
            for event in batch:
                yield event
            cursor = max(cursor, considered)
            if not follow or (self._closed and cursor >= self._seq):
                return
            if cursor >= self.visible_seq:
                await waiter.wait()


def _key(event: Event) -> str | None:
    """What a live delta belongs to: its message or tool call."""
    return getattr(event, "message_id", None) or getattr(event, "call_id", None)


def _completes(event: Event) -> list[str]:
    """Keys of the live deltas this durable event folds in (or voids)."""
    keys: list[str] = []
    if isinstance(event, MessageCompleted):
        keys.append(event.message_id)
    elif isinstance(event, ToolCallFinished):
        keys.append(event.call_id)
    elif isinstance(event, Retrying) and event.discarded_message_id:
        keys.append(event.discarded_message_id)
    return keys
