"""The SessionClient: the one interface every frontend uses to talk to a session.

`submit(op)` asks; `events(since)` tells. The TUI, `kode ask` and (later) remote clients all go
through it, so a frontend cannot tell a local session from one served over the network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from kode.protocol.events import Event
from kode.protocol.ops import Op


@runtime_checkable
class SessionClient(Protocol):
    @property
    def session_id(self) -> str: ...

    async def submit(self, op: Op) -> None:
        """Send an op. Effects (and errors, as ErrorEvent) come back as events."""
        ...

    def events(self, since: int = 0) -> AsyncIterator[Event]:
        """Durable events after `since`, then live events as they happen, until the session closes."""
        ...

    async def close(self) -> None: ...
