"""The sessions one ACP connection works with, each in the hub of its workspace.

An editor names a workspace (an absolute cwd) per session, and a project's `.kode/config.toml`
depends on it, so there is one `SessionHub` per distinct cwd, built on first use by a factory
the command supplies (it knows flags and config; this package does not). Sessions are looked up
by id in the hub that created or loaded them, so a session is never opened twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from acp import RequestError

from kode.host.hub import Conflict, Hosted, HubError, LimitReached, NotFound, SessionHub, SessionInfo

HubFactory = Callable[[Path], Awaitable[SessionHub]]
"""Builds and starts the hub for a workspace directory; raises `SetupError` to refuse it."""

NOT_FOUND = -32002  # ACP's "resource not found"


class SetupError(Exception):
    """A workspace kode cannot work in (a broken config file, no API key); `str()` is one line."""


def request_error(exc: Exception) -> RequestError:
    """A hub's refusal as a JSON-RPC error whose message is the one line to show."""
    if isinstance(exc, NotFound):
        return RequestError(NOT_FOUND, str(exc))
    if isinstance(exc, (Conflict, LimitReached)):
        return RequestError(-32603, str(exc))  # not -32000: clients read that as "log in first"
    return RequestError(-32602, str(exc))


class Sessions:
    def __init__(self, make_hub: HubFactory, default_cwd: Path) -> None:
        self._make_hub = make_hub
        self.default_cwd = default_cwd
        """Where sessions are listed from when the editor names no cwd (the store is shared)."""
        self._hubs: dict[Path, asyncio.Task[SessionHub]] = {}
        self._owner: dict[str, SessionHub] = {}
        self._alias: dict[str, str] = {}
        """An id prefix the editor loaded a session by -> the full id."""

    async def hub(self, cwd: str | None) -> SessionHub:
        if not cwd or not Path(cwd).is_absolute():
            raise RequestError(-32602, f"cwd must be an absolute path, got {cwd!r}")
        path = Path(cwd).resolve()
        if not path.is_dir():
            raise RequestError(-32602, f"cwd {cwd} is not a directory")
        building = self._hubs.get(path)
        if building is None:  # one hub per workspace, even when two requests ask at once
            building = asyncio.get_running_loop().create_task(self._make_hub(path), name=f"hub {path}")
            self._hubs[path] = building
        try:
            return await asyncio.shield(building)
        except Exception as exc:
            if building.done() and self._hubs.get(path) is building:
                del self._hubs[path]  # the user may fix the config and try again
            if isinstance(exc, SetupError):
                raise RequestError(-32602, str(exc)) from None
            raise

    async def create(self, cwd: str) -> Hosted:
        hub = await self.hub(cwd)
        try:
            hosted = await hub.create()
        except HubError as exc:
            raise request_error(exc) from None
        self._owner[hosted.id] = hub
        return hosted

    async def open(self, session_id: str, cwd: str) -> Hosted:
        """A stored session (or one this connection already has), loaded in its hub."""
        hub = self._owner.get(self._alias.get(session_id, session_id)) or await self.hub(cwd)
        try:
            hosted = await hub.get(self._alias.get(session_id, session_id))
        except HubError as exc:
            raise request_error(exc) from None
        self._owner[hosted.id] = hub
        if hosted.id != session_id:
            self._alias[session_id] = hosted.id
        return hosted

    async def get(self, session_id: str) -> Hosted:
        """A session this connection created or loaded (reloaded if the hub unloaded it)."""
        session_id = self._alias.get(session_id, session_id)
        hub = self._owner.get(session_id)
        if hub is None:
            raise RequestError(NOT_FOUND, f"unknown session {session_id}: create it with session/new or load it first")
        try:
            return await hub.get(session_id)
        except HubError as exc:
            raise request_error(exc) from None

    @asynccontextmanager
    async def attached(self, session_id: str) -> AsyncIterator[Hosted]:
        """The session, kept loaded (never unloaded as idle) until the block ends."""
        hosted = await self.get(session_id)
        hub = self._owner[hosted.id]
        try:
            async with hub.attached(hosted.id) as attached:
                yield attached
        except HubError as exc:
            raise request_error(exc) from None

    async def list(self, cwd: str | None) -> list[SessionInfo]:
        hub = await self.hub(cwd or str(self.default_cwd))
        infos = await hub.list()
        if cwd:
            wanted = str(Path(cwd).resolve())
            infos = [info for info in infos if info.cwd == wanted]
        return infos

    async def close(self, session_id: str) -> None:
        full = self._alias.get(session_id, session_id)
        self._alias = {alias: target for alias, target in self._alias.items() if target != full}
        hub = self._owner.pop(full, None)
        if hub is not None:
            await hub.unload(full)

    async def close_all(self) -> None:
        """Cancel what runs and store every session: the editor went away."""
        building, self._hubs = list(self._hubs.values()), {}
        self._owner.clear()
        self._alias.clear()
        for task in building:
            try:
                hub = await task
            except Exception:  # noqa: BLE001 - a hub that never started has nothing to close
                continue
            await hub.close()
