"""The TUI's session actions backed by the store: /new, /resume (with its picker).

The TUI may not import the store or the core; it asks these actions for clients. Each new or
resumed session gets its own ThreadedClient, opened the same way `kode` opens its first one.
/export is left to the TUI, which writes the conversation it shows as Markdown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kode.client.threaded import ThreadedClient
from kode.tui.actions import NotSupported, SessionSummary

Opener = Callable[[str | None], Callable[[], Awaitable[Any]]]
"""Given a session id to resume (None: a new session), a coroutine factory opening its client."""


class StoreActions:
    def __init__(self, opener: Opener, cwd: Path, url: str | None) -> None:
        self._opener = opener
        self._cwd = cwd
        self._url = url

    async def new_session(self) -> ThreadedClient:
        return ThreadedClient(self._opener(None))

    async def list_sessions(self) -> list[SessionSummary]:
        from kode.store import Store

        async with await Store.open(self._url) as store:
            records = await store.list_sessions(cwd=str(self._cwd))
        return [SessionSummary(r.id, r.title, r.updated_at, r.model) for r in records]

    async def resume(self, session_id: str) -> ThreadedClient:
        return ThreadedClient(self._opener(session_id))

    async def export(self, session_id: str, path: Path | None) -> Path:
        raise NotSupported("the TUI exports what it shows")
