"""What the TUI asks of session persistence: new, resume, list, export.

The CLI supplies the implementation (it owns the store); the TUI only calls this protocol, so it
works the same against a local or a remote session. `FactoryActions` is the interim one: a new
session from a factory, nothing to resume, and export left to the TUI's own Markdown writer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from kode.client.base import SessionClient


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    title: str
    updated: datetime | None = None
    model: str = ""


class NotSupported(Exception):
    """This build of kode cannot do that yet (e.g. no session store)."""


class SessionActions(Protocol):
    async def new_session(self) -> SessionClient:
        """A client of a fresh session in the same project."""
        ...

    async def list_sessions(self) -> list[SessionSummary]:
        """Earlier sessions of this project, newest first."""
        ...

    async def resume(self, session_id: str) -> SessionClient:
        """A client attached to an earlier session (its events replay from the start)."""
        ...

    async def export(self, session_id: str, path: Path | None) -> Path:
        """Write the session somewhere readable; raise NotSupported to let the TUI do it."""
        ...


ClientFactory = Callable[[], SessionClient | Awaitable[SessionClient]]


class FactoryActions:
    """Sessions from a factory; nothing to resume yet; the TUI exports on its own."""

    def __init__(self, factory: ClientFactory | None = None) -> None:
        self.factory = factory

    async def new_session(self) -> SessionClient:
        if self.factory is None:
            raise NotSupported("starting a new session is not available here")
        client = self.factory()
        if isinstance(client, Awaitable):
            client = await client
        return client

    async def list_sessions(self) -> list[SessionSummary]:
        return []

    async def resume(self, session_id: str) -> SessionClient:
        raise NotSupported("resuming sessions needs the session store, which is not wired in yet")

    async def export(self, session_id: str, path: Path | None) -> Path:
        raise NotSupported("export is done by the TUI")
