"""Opening the session a command works on: new, the latest in this directory, or one by id.

Shared by `kode ask` and the TUI, so `--continue`, `--resume` and `--no-save` mean the same
everywhere. Problems come back as `OpenError` with the exit code to use and a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kode.cli import exit_codes
from kode.cli.wiring import Wiring, build_session
from kode.client.inprocess import InProcessClient
from kode.config import LoadedConfig
from kode.core.session import Session
from kode.core.stored_session import StoredSession, provisional_title


class OpenError(Exception):
    def __init__(self, message: str, code: int = exit_codes.USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class OpenRequest:
    cwd: Path
    api_key: str | None
    interactive: bool
    owner: str
    """Who holds the session, as "session is busy" tells others: e.g. "kode ask"."""
    resume: str | None = None
    """A session id or a unique prefix of one."""
    continue_latest: bool = False
    save: bool = True
    first_prompt: str = ""
    title_model: str | None = None
    """The `fast` model role, asked for a title after the first exchange (None: keep the prompt's
    first line). `kode ask` exits as soon as it has answered, so it keeps the first line."""


@dataclass(slots=True)
class Opened:
    session: Session
    stored: StoredSession | None = None
    warnings: list[str] = field(default_factory=list)
    resumed: bool = False

    async def close(self) -> None:
        if self.stored is not None:
            await self.stored.close()
            await self.stored.store.close()
        else:
            await self.session.close()

    def client(self) -> InProcessClient:
        """A client whose `close` also stores what is left and gives up the lease."""
        return _OpenedClient(self)


class _OpenedClient(InProcessClient):
    def __init__(self, opened: Opened) -> None:
        super().__init__(opened.session)
        self._opened = opened

    async def close(self) -> None:
        await self._opened.close()


async def open_session(loaded: LoadedConfig, request: OpenRequest) -> Opened:
    from kode.core.permissions import RuleError
    from kode.store import (
        AmbiguousSession,
        SessionBusy,
        SessionNotFound,
        Store,
        StoreError,
    )

    def build(cwd: Path, session_id: str | None = None, history: list | None = None) -> Session:
        try:
            return build_session(
                loaded,
                Wiring(cwd=cwd, api_key=request.api_key, interactive=request.interactive),
                session_id=session_id,
                history=history,
            )
        except RuleError as exc:
            raise OpenError(f"config error: permission rule: {exc}") from None

    resuming = request.continue_latest or request.resume is not None
    if not request.save and not resuming:
        return Opened(build(request.cwd))
    try:
        store = await Store.open(loaded.settings.store.url or None)
    except StoreError as exc:
        raise OpenError(str(exc), exit_codes.AGENT_ERROR) from None
    try:
        opened = await _open_stored(store, request, build, resuming)
    except (SessionNotFound, AmbiguousSession) as exc:
        await store.close()
        raise OpenError(str(exc)) from None
    except SessionBusy as exc:
        await store.close()
        raise OpenError(str(exc), exit_codes.AGENT_ERROR) from None
    except BaseException:
        await store.close()
        raise
    opened.warnings = list(store.warnings)
    return opened


async def _open_stored(store, request: OpenRequest, build, resuming: bool) -> Opened:  # type: ignore[no-untyped-def]
    from kode.store import SessionNotFound

    owner = request.owner  # the store records pid and host itself
    if not resuming:
        session = build(request.cwd)
        stored = await StoredSession.begin(
            store,
            session,
            owner=owner,
            new=True,
            title=provisional_title(request.first_prompt),
            title_model=request.title_model,
        )
        return Opened(session, stored)
    if request.resume is not None:
        record = await store.get_session(request.resume)
    else:
        record = await store.latest_session(str(request.cwd))
        if record is None:
            raise SessionNotFound(f"(none in {request.cwd}; start one without --continue)")
    workspace = Path(record.cwd)
    if not workspace.is_dir():
        raise OpenError(f"session {record.id} worked in {record.cwd}, which no longer exists")
    history = await store.load_events(record.id)
    session = build(workspace, record.id, history)
    stored = await StoredSession.begin(store, session, owner=owner, new=False)
    return Opened(session, stored, resumed=True)
