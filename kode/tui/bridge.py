"""The bridge from a SessionClient's event stream to the app's message queue.

A worker reads `client.events(since)` and collects events; it posts one `EventsReady` when the
first event of a batch arrives, and the app drains everything collected so far when it handles
it. While the UI is busy, events pile up and are applied together: a 500 tokens/s stream costs
a handful of UI updates per frame, not one per token.
"""

from __future__ import annotations

from textual.app import App
from textual.message import Message
from textual.worker import Worker

from kode.client.base import SessionClient
from kode.protocol.events import Event


class EventBridge:
    class EventsReady(Message):
        def __init__(self, bridge: EventBridge) -> None:
            super().__init__()
            self.bridge = bridge

    class StreamEnded(Message):
        def __init__(self, bridge: EventBridge, error: str = "") -> None:
            super().__init__()
            self.bridge = bridge
            self.error = error

    def __init__(self, app: App[object], client: SessionClient, *, since: int = 0) -> None:
        self.app = app
        self.client = client
        self.since = since
        self._pending: list[Event] = []
        self._signalled = False
        self.worker: Worker[None] | None = None
        self.received = 0

    def start(self) -> None:
        self.worker = self.app.run_worker(self._pump(), name="event-bridge", group="bridge", exit_on_error=False)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    async def _pump(self) -> None:
        error = ""
        try:
            async for event in self.client.events(self.since):
                self._pending.append(event)
                self.received += 1
                if not self._signalled:
                    self._signalled = True
                    self.app.post_message(self.EventsReady(self))
        except Exception as exc:  # noqa: BLE001 - a broken stream is shown, not raised into Textual
            error = f"{type(exc).__name__}: {exc}"
        self.app.post_message(self.StreamEnded(self, error))

    def drain(self) -> list[Event]:
        """Every event received since the last drain, in order."""
        self._signalled = False
        events, self._pending = self._pending, []
        if events:
            self.since = max(self.since, events[-1].seq)
        return events
