"""The ACP agent: each ACP method mapped onto kode's sessions, ops and events.

| ACP | kode |
| --- | --- |
| `session/new` | `SessionHub.create` in the hub of the editor's cwd |
| `session/load` | `SessionHub.get` (resume from the store), the stored events replayed as updates |
| `session/resume` | the same without the replay (the editor kept its own history) |
| `session/prompt` | `SubmitMessage`; events streamed back until the root `turn_finished` |
| `session/request_permission` | sent for every `approval_requested`; the answer is `AnswerApproval` |
| `session/cancel` | `Cancel`; the prompt then answers `cancelled` |
| `session/set_mode` | `SetPermissionMode` (kode's permission modes are the session modes) |
| `session/list`, `session/close` | the hub's list, unload |
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    ListSessionsResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    ResumeSessionResponse,
    SessionCapabilities,
    SessionCloseCapabilities,
    SessionInfo,
    SessionListCapabilities,
    SessionMode,
    SessionModeState,
    SessionResumeCapabilities,
    SetSessionModeResponse,
)

from kode import __version__
from kode.acp.prompt import prompt_text
from kode.acp.sessions import HubFactory, Sessions
from kode.acp.turns import Turn
from kode.acp.updates import UpdateTranslator
from kode.host.hub import Hosted
from kode.protocol.ops import SetPermissionMode

log = logging.getLogger("kode.acp")

MODES = [
    SessionMode(id="default", name="Default", description="Reads run; edits and shell commands ask first."),
    SessionMode(id="accept-edits", name="Accept edits", description="Reads and edits run; shell commands ask."),
    SessionMode(id="plan", name="Plan", description="Read-only: explore and plan; no edits, no commands."),
    SessionMode(id="bypass", name="Bypass", description="Everything runs without asking; deny rules still hold."),
]


class KodeAgent:
    """One editor connection. Implements `acp.interfaces.Agent`."""

    def __init__(self, make_hub: HubFactory, default_cwd: Path) -> None:
        self.sessions = Sessions(make_hub, default_cwd)
        self._conn: Client | None = None
        self._turns: dict[str, Turn] = {}
        self._running: set[str] = set()
        """Sessions with a prompt in progress (from the request's arrival, before its Turn exists)."""
        self._cancel_early: set[str] = set()

    def on_connect(self, conn: Client) -> None:
        self._conn = conn

    @property
    def conn(self) -> Client:
        assert self._conn is not None, "on_connect was not called"
        return self._conn

    async def shutdown(self) -> None:
        """The editor closed the connection: cancel running turns, store and close every session."""
        await self.sessions.close_all()

    # -- connection ------------------------------------------------------------------------------

    async def initialize(self, protocol_version: int, **_: Any) -> InitializeResponse:
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(image=False, audio=False, embedded_context=True),
                session_capabilities=SessionCapabilities(
                    list=SessionListCapabilities(), resume=SessionResumeCapabilities(), close=SessionCloseCapabilities()
                ),
            ),
            agent_info=Implementation(name="kode", title="kode", version=__version__),
            auth_methods=[],
        )

    async def authenticate(self, method_id: str, **_: Any) -> None:
        """kode has no login: provider keys come from the environment and config files."""
        return None

    # -- sessions --------------------------------------------------------------------------------

    async def new_session(self, cwd: str, mcp_servers: list[Any] | None = None, **_: Any) -> NewSessionResponse:
        _ignore_mcp(mcp_servers)
        hosted = await self.sessions.create(cwd)
        return NewSessionResponse(session_id=hosted.id, modes=_modes(hosted))

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> LoadSessionResponse:
        _ignore_mcp(mcp_servers)
        self._refuse_if_running(session_id)
        hosted = await self.sessions.open(session_id, cwd)
        translator = UpdateTranslator(hosted.cwd, replay=True)
        for event in hosted.history():
            for update in translator.translate(event):
                await self.conn.session_update(session_id=session_id, update=update)
        return LoadSessionResponse(modes=_modes(hosted))

    async def resume_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> ResumeSessionResponse:
        _ignore_mcp(mcp_servers)
        hosted = await self.sessions.open(session_id, cwd)
        return ResumeSessionResponse(modes=_modes(hosted))

    async def list_sessions(self, cwd: str | None = None, cursor: str | None = None, **_: Any) -> ListSessionsResponse:
        infos = await self.sessions.list(cwd)
        return ListSessionsResponse(
            sessions=[
                SessionInfo(
                    session_id=info.id,
                    cwd=info.cwd,
                    title=info.title or None,
                    updated_at=_iso(info.updated_at),
                )
                for info in infos
            ]
        )

    async def close_session(self, session_id: str, **_: Any) -> None:
        turn = self._turns.get(session_id)
        if turn is not None:
            await turn.cancel()
        await self.sessions.close(session_id)

    async def set_session_mode(self, mode_id: str, session_id: str, **_: Any) -> SetSessionModeResponse:
        if mode_id not in {mode.id for mode in MODES}:
            raise RequestError(-32602, f"unknown mode {mode_id!r}; kode's modes are {', '.join(m.id for m in MODES)}")
        hosted = await self.sessions.get(session_id)
        await hosted.client().submit(SetPermissionMode(mode=mode_id))  # type: ignore[arg-type]
        return SetSessionModeResponse()

    # -- turns -----------------------------------------------------------------------------------

    async def prompt(self, prompt: list[Any], session_id: str, **_: Any) -> PromptResponse:
        self._refuse_if_running(session_id)
        self._running.add(session_id)  # before any await: a second prompt is refused, not raced
        try:
            async with self.sessions.attached(session_id) as hosted:  # held loaded while the turn runs
                text = prompt_text(prompt, hosted.cwd)
                if not text.strip():
                    raise RequestError(-32602, "the prompt is empty")
                if hosted.busy:
                    raise RequestError(-32603, "session is busy: a turn is already running")
                if session_id in self._cancel_early:
                    return PromptResponse(stop_reason="cancelled")  # cancelled before it began
                turn = Turn(self.conn, session_id, hosted)
                self._turns[session_id] = turn
                return await turn.run(text, since=hosted.last_seq)
        finally:
            self._running.discard(session_id)
            self._cancel_early.discard(session_id)
            self._turns.pop(session_id, None)

    async def cancel(self, session_id: str, **_: Any) -> None:
        turn = self._turns.get(session_id)
        if turn is not None:
            await turn.cancel()
        elif session_id in self._running:
            self._cancel_early.add(session_id)

    def _refuse_if_running(self, session_id: str) -> None:
        if session_id in self._running:
            raise RequestError(-32603, "session is busy: a prompt is already running; cancel it first")


def _modes(hosted: Hosted) -> SessionModeState:
    return SessionModeState(current_mode_id=hosted.permission_mode, available_modes=MODES)


def _ignore_mcp(servers: list[Any] | None) -> None:
    if servers:
        names = ", ".join(getattr(server, "name", "?") for server in servers)
        log.warning("MCP servers from the editor are not supported yet; ignoring %s", names)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat()
