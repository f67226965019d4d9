"""Many live sessions in one process: the server's and the ACP agent's view of sessions.

A hub creates sessions, loads stored ones on demand (a session is either loaded here or only in
the store), counts who is attached to each, unloads sessions nobody has used for a while (they
stay in the store and load again when asked for), and keeps the number loaded under a limit.
It hands out SessionClients; frontends never touch a Session directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from kode.client.inprocess import InProcessClient
from kode.config import LoadedConfig
from kode.core.session import Session
from kode.host.opening import Opened, OpenError, OpenRequest, open_session
from kode.protocol.common import ROOT_AGENT, ApprovalDecision, Usage
from kode.protocol.events import BILLED, ApprovalRequested, Event, TurnFinished
from kode.store import SessionNotFound, Store


class HubError(Exception):
    """A request the hub refuses; `status` is the HTTP status a server answers with."""

    status = 400


class NotFound(HubError):
    status = 404


class Conflict(HubError):
    status = 409


class LimitReached(HubError):
    status = 429


@dataclass(slots=True)
class HubLimits:
    max_sessions: int = 32
    """Sessions loaded at once; an idle one is unloaded to make room, else creating one fails."""
    idle_unload: float | None = 900.0
    """Seconds after which a session nobody is attached to, and that is not running, is unloaded."""


@dataclass(slots=True)
class SessionInfo:
    id: str
    title: str
    cwd: str
    model: str
    status: str
    loaded: bool
    busy: bool
    last_seq: int
    permission_mode: str = ""
    updated_at: float | None = None


@dataclass(slots=True)
class UsageReport:
    """Tokens and cost of a session: in all, by model and by agent (sub-agents roll up)."""

    total: Usage
    by_model: dict[str, Usage]
    by_agent: dict[str, Usage]
    turns: int

    @classmethod
    def of(cls, events: list) -> UsageReport:  # type: ignore[type-arg]
        total = Usage()
        by_model: dict[str, Usage] = {}
        by_agent: dict[str, Usage] = {}
        turns = 0
        for event in events:
            if isinstance(event, BILLED):
                total = total + event.usage
                model = event.model or "unknown"
                by_model[model] = by_model.get(model, Usage()) + event.usage
                by_agent[event.agent_id] = by_agent.get(event.agent_id, Usage()) + event.usage
            elif isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
                turns += 1
        return cls(total, by_model, by_agent, turns)


class Hosted:
    """A loaded session, the clients attached to it, and when it was last used."""

    def __init__(self, opened: Opened) -> None:
        self.opened = opened
        self.connections = 0
        self.last_active = time.monotonic()
        self.title = ""

    @property
    def session(self) -> Session:
        return self.opened.session

    @property
    def id(self) -> str:
        return self.session.id

    def client(self) -> InProcessClient:
        """A client of this session whose `close` leaves the session running (the hub owns it)."""
        return InProcessClient(self.session)

    def touch(self) -> None:
        self.last_active = time.monotonic()

    @property
    def idle(self) -> bool:
        return self.connections == 0 and not self.session.busy and not self.session.approvals.pending

    @property
    def busy(self) -> bool:
        return self.session.busy

    @property
    def cwd(self) -> str:
        return self.session.agent.env.root

    @property
    def permission_mode(self) -> str:
        return self.session.policy.mode.value

    def history(self) -> list[Event]:
        """The durable events so far (what a client replays to show the conversation)."""
        return self.session.log.durable_events()

    @property
    def last_seq(self) -> int:
        return self.session.log.last_seq

    def pending_approvals(self) -> list[ApprovalRequested]:
        return self.session.approvals.pending

    def answer_approval(self, request_id: str, decision: ApprovalDecision, reason: str = "") -> bool:
        """Answer a waiting approval. False when it is unknown or already answered: the first
        answer from any client wins, and everyone sees it resolved."""
        self.touch()
        return self.session.approvals.answer(request_id, decision, reason)

    def usage(self) -> UsageReport:
        return UsageReport.of(self.session.log.durable_events())

    def info(self) -> SessionInfo:
        session = self.session
        return SessionInfo(
            id=self.id,
            title=self.title,
            cwd=session.agent.env.root,
            model=session.agent.settings.model,
            status="running" if session.busy else "idle",
            loaded=True,
            busy=session.busy,
            last_seq=session.log.last_seq,
            permission_mode=session.policy.mode.value,
        )


class SessionHub:
    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        cwd: Path,
        api_key: str | None,
        save: bool = True,
        owner: str = "kode serve",
        limits: HubLimits | None = None,
        title_model: str | None = None,
        remote: str | None = None,
    ) -> None:
        self.loaded = loaded
        self.remote = remote
        """Every session's tools run in this SSH workspace (`kode serve --remote`)."""
        self.cwd = cwd.resolve()
        self.api_key = api_key
        self.save = save
        self.owner = owner
        self.limits = limits or HubLimits()
        self.title_model = title_model
        self.store: Store | None = None
        self._hosted: dict[str, Hosted] = {}
        self._loading: dict[str, asyncio.Future[Hosted]] = {}
        self._reaper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the shared store (when saving) and start unloading idle sessions."""
        if self.save and self.store is None:
            from kode.store import StoreError

            try:
                self.store = await Store.open(self.loaded.settings.store.url or None)
            except StoreError as exc:
                raise OpenError(str(exc), usage=False) from None
        idle = self.limits.idle_unload
        if idle is not None and self.save and self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap(max(0.05, min(idle / 4, 30.0))))

    # -- sessions ------------------------------------------------------------------------------

    @property
    def loaded_ids(self) -> list[str]:
        return list(self._hosted)

    def _workspace(self, cwd: str | None) -> Path:
        """A session's directory: the hub's, or one inside it (a client cannot escape it)."""
        if not cwd:
            return self.cwd
        if self.remote:
            raise HubError(f"this server's sessions work in {self.remote}; cwd cannot be chosen")
        path = Path(cwd)
        try:
            path = (path if path.is_absolute() else self.cwd / path).resolve()
            if path != self.cwd and self.cwd not in path.parents:
                raise HubError(f"cwd {cwd} is outside the served workspace {self.cwd}")
            if not path.is_dir():
                raise HubError(f"cwd {cwd} is not a directory")
        except (OSError, ValueError) as exc:  # an embedded NUL byte, a name too long, a symlink loop
            raise HubError(f"cwd {cwd[:200]!r} is not a usable path ({type(exc).__name__})") from None
        return path

    async def create(
        self, *, cwd: str | None = None, model: str | None = None, permission_mode: str | None = None, title: str = ""
    ) -> Hosted:
        workspace = self._workspace(cwd)
        await self._make_room()
        request = self._request(workspace, model=model, permission_mode=permission_mode, first_prompt=title)
        opened = await self._open(request)
        return self._host(opened)

    def adopt(self, opened: Opened) -> Hosted:
        """Host a session opened elsewhere (the TUI's own, under `kode --serve`). It is never
        unloaded by the hub: its opener closes it."""
        hosted = self._host(opened)
        hosted.connections += 1  # the opener's own attachment
        return hosted

    async def get(self, session_id: str) -> Hosted:
        """The loaded session, or the stored one loaded now (resumed)."""
        hosted = self._hosted.get(session_id)
        if hosted is not None:
            return hosted
        if session_id in self._loading:
            return await asyncio.shield(self._loading[session_id])
        if self.store is None:
            raise NotFound(f"no session {session_id}")
        future: asyncio.Future[Hosted] = asyncio.get_running_loop().create_future()
        self._loading[session_id] = future
        try:
            record = await self._record(session_id)  # a prefix may name a session loaded already
            hosted = self._hosted.get(record.id)
            if hosted is None:
                await self._make_room()
                hosted = self._hosted.get(record.id) or self._host(
                    await self._open(self._request(Path(record.cwd), resume=record.id))
                )
            future.set_result(hosted)
            return hosted
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it; nobody waiting is fine too
            raise
        finally:
            del self._loading[session_id]

    async def list(self) -> list[SessionInfo]:
        """Loaded sessions, then stored ones (newest first), each once."""
        infos = [hosted.info() for hosted in self._hosted.values()]
        if self.store is not None:
            seen = {info.id for info in infos}
            for record in await self.store.list_sessions(limit=200):
                if record.id in seen:
                    for info in infos:
                        if info.id == record.id and not info.title:
                            info.title = record.title
                    continue
                infos.append(
                    SessionInfo(
                        id=record.id,
                        title=record.title,
                        cwd=record.cwd,
                        model=record.model,
                        status=record.status,
                        loaded=False,
                        busy=False,
                        last_seq=record.last_seq,
                        updated_at=record.updated_at.timestamp(),
                    )
                )
        return infos

    async def delete(self, session_id: str) -> None:
        """Stop the session if it runs and delete it, with its events, from the store."""
        hosted = self._hosted.get(session_id)
        if hosted is not None:
            await self.unload(session_id)
        if self.store is None:
            if hosted is None:
                raise NotFound(f"no session {session_id}")
            return
        from kode.store import SessionBusy

        try:
            await self.store.delete_session(session_id)
        except SessionNotFound:
            raise NotFound(f"no session {session_id}") from None
        except SessionBusy as exc:
            raise Conflict(str(exc)) from None

    async def unload(self, session_id: str) -> None:
        hosted = self._hosted.pop(session_id, None)
        if hosted is not None:
            await hosted.opened.close()

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        for session_id in list(self._hosted):
            await self.unload(session_id)
        if self.store is not None:
            await self.store.close()
            self.store = None

    @asynccontextmanager
    async def attached(self, session_id: str) -> AsyncIterator[Hosted]:
        """Hold a session loaded while a client (an SSE stream, a WebSocket) is attached."""
        hosted = await self.get(session_id)
        hosted.connections += 1
        hosted.touch()
        try:
            yield hosted
        finally:
            hosted.connections -= 1
            hosted.touch()

    # -- internals -----------------------------------------------------------------------------

    def _request(self, cwd: Path, **fields: object) -> OpenRequest:
        return OpenRequest(
            cwd=cwd,
            api_key=self.api_key,
            interactive=True,
            owner=self.owner,
            save=self.save,
            title_model=self.title_model,
            remote=self.remote,
            **fields,  # type: ignore[arg-type]
        )

    async def _open(self, request: OpenRequest) -> Opened:
        try:
            return await open_session(self.loaded, request, store=self.store)
        except OpenError as exc:
            raise (HubError(str(exc)) if exc.usage else Conflict(str(exc))) from None

    async def _record(self, session_id: str):  # type: ignore[no-untyped-def]
        from kode.store import AmbiguousSession

        assert self.store is not None
        try:
            return await self.store.get_session(session_id)
        except (SessionNotFound, AmbiguousSession) as exc:
            raise NotFound(str(exc)) from None

    def _host(self, opened: Opened) -> Hosted:
        opened.session.start()  # a stored session has started already; an unsaved one starts here
        hosted = Hosted(opened)
        self._hosted[hosted.id] = hosted
        return hosted

    async def _make_room(self) -> None:
        if len(self._hosted) < self.limits.max_sessions:
            return
        idle = sorted((h for h in self._hosted.values() if h.idle), key=lambda h: h.last_active)
        if not idle or not self.save:
            raise LimitReached(
                f"{len(self._hosted)} sessions are loaded, the limit; close one or raise [server] max_sessions"
            )
        await self.unload(idle[0].id)

    async def _reap(self, every: float) -> None:
        idle_for = self.limits.idle_unload
        assert idle_for is not None
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for hosted in list(self._hosted.values()):
                if hosted.busy:
                    hosted.touch()  # a running turn is use, even with nobody attached
                elif hosted.idle and now - hosted.last_active >= idle_for:
                    await self.unload(hosted.id)
