"""A renderer turns a session's events into output for `kode ask`."""

from __future__ import annotations

from typing import Protocol

from kode.protocol.events import Event, TurnFinished


class Renderer(Protocol):
    def event(self, event: Event) -> None:
        """Called for every event of the session, in order."""
        ...

    def finish(self, finished: TurnFinished | None, *, session_id: str) -> None:
        """Called once, after the turn ended (None if it never started)."""
        ...
