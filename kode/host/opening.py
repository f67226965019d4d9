"""Opening the session a command works on: new, the latest in this directory, or one by id.

Shared by `kode ask`, the TUI and the server, so `--continue`, `--resume` and `--no-save` mean the same
everywhere. Problems come back as `OpenError` with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kode.client.inprocess import InProcessClient
from kode.config import LoadedConfig
from kode.core.session import Session
from kode.core.stored_session import StoredSession, provisional_title
from kode.host.wiring import Wiring, build_session
from kode.runtime.environment import Environment
from kode.store import Store, StoreMemoryPort


class OpenError(Exception):
    """The session could not be opened; `str()` is the one line to show.

    `usage` tells a caller's mistake (an unknown id, a bad rule) from a failure of the
    machinery (the store is unreachable, the session is busy)."""

    def __init__(self, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


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
    model: str | None = None
    """This session's model, instead of the configured `main` role (a server client's choice)."""
    permission_mode: str | None = None
    remote: str | None = None
    """`ssh://[user@]host[:port]/path`: tools run there (the agent runs here)."""


@dataclass(slots=True)
class Opened:
    session: Session
    stored: StoredSession | None = None
    warnings: list[str] = field(default_factory=list)
    resumed: bool = False
    owns_store: bool = True
    """False when the store is shared (the server's): closing the session leaves it open."""

    async def close(self) -> None:
        if self.stored is not None:
            await self.stored.close()
            if self.owns_store:
                await self.stored.store.close()
        else:
            await self.session.close()
        env = self.session.agent.env
        if hasattr(env, "close"):  # a remote environment: its connection (and anything running)
            await env.close()

    def client(self) -> InProcessClient:
        """A client whose `close` also stores what is left and gives up the lease."""
        return _OpenedClient(self)


class _OpenedClient(InProcessClient):
    def __init__(self, opened: Opened) -> None:
        super().__init__(opened.session)
        self._opened = opened

    async def close(self) -> None:
        await self._opened.close()


async def open_session(loaded: LoadedConfig, request: OpenRequest, *, store: Store | None = None) -> Opened:
    """Open the session `request` asks for. With `store`, use that (shared) store and leave it
    open when the session closes; otherwise open one for this session alone."""
    from kode.core.permissions import PermissionMode, RuleError
    from kode.store import AmbiguousSession, SessionBusy, SessionNotFound, StoreError

    def build(cwd: Path, session_id: str | None = None, history: list | None = None, env: Environment | None = None) -> Session:
        try:
            session = build_session(
                loaded,
                Wiring(
                    cwd=cwd,
                    api_key=request.api_key,
                    interactive=request.interactive,
                    env=env,
                    memory=StoreMemoryPort(store, env.location if env is not None else str(cwd)) if store else None,
                    repo_tags=store,
                ),
                session_id=session_id,
                history=history,
            )
        except RuleError as exc:
            raise OpenError(f"config error: permission rule: {exc}") from None
        if request.model:
            session.agent.settings.model = request.model
        if request.permission_mode:
            session.policy.mode = PermissionMode(request.permission_mode)
        return session

    resuming = request.continue_latest or request.resume is not None
    if not request.save and not resuming:
        env = await open_remote(request.remote) if request.remote else None
        return Opened(build(request.cwd, env=env))
    owns_store = store is None
    if store is None:
        try:
            store = await Store.open(loaded.settings.store.url or None)
        except StoreError as exc:
            raise OpenError(str(exc), usage=False) from None

    async def give_up() -> None:
        if owns_store:
            await store.close()

    try:
        opened = await _open_stored(store, request, build, resuming)
    except (SessionNotFound, AmbiguousSession) as exc:
        await give_up()
        raise OpenError(str(exc)) from None
    except SessionBusy as exc:
        await give_up()
        raise OpenError(str(exc), usage=False) from None
    except BaseException:
        await give_up()
        raise
    opened.warnings = list(store.warnings)
    opened.owns_store = owns_store
    budget = opened.session.budget
    if budget is not None and budget.daily_usd:
        budget.spent_today_elsewhere = await spent_today(store, opened.session.id)
    return opened


async def spent_today(store: Store, session_id: str) -> float:
    """What other sessions spent today (UTC), for the daily cap. A session that was used today
    counts whole, even if part of its spending was yesterday: the cap errs on the safe side."""
    today = datetime.now(UTC).date()
    records = await store.list_sessions(limit=10_000)
    return sum(r.cost_usd for r in records if r.id != session_id and r.updated_at.astimezone(UTC).date() == today)


async def _open_stored(store, request: OpenRequest, build, resuming: bool) -> Opened:  # type: ignore[no-untyped-def]
    """Create or resume the stored session. A remote workspace is connected first (its
    canonical location is what the store knows it by) and closed again if anything fails."""
    from kode.store import SessionNotFound

    owner = request.owner  # the store records pid and host itself
    env = await open_remote(request.remote) if request.remote else None
    try:
        if not resuming:
            session = build(request.cwd, env=env)
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
            where = env.location if env is not None else str(request.cwd)
            record = await store.latest_session(where)
            if record is None:
                raise SessionNotFound(f"(none in {where}; start one without --continue)")
        workspace = request.cwd
        if record.cwd.startswith("ssh://"):
            if env is None or env.location != record.cwd:  # the session's own workspace wins
                old, env = env, None
                if old is not None:
                    await old.close()
                env = await open_remote(record.cwd)
        else:
            workspace = Path(record.cwd)
            if not workspace.is_dir():
                raise OpenError(f"session {record.id} worked in {record.cwd}, which no longer exists")
        history = await store.load_events(record.id)
        session = build(workspace, record.id, history, env=env)
        stored = await StoredSession.begin(store, session, owner=owner, new=False)
        return Opened(session, stored, resumed=True)
    except BaseException:
        if env is not None:
            await env.close()
        raise


async def open_remote(location: str) -> Environment:
    """Connect the SSH workspace at `location`; OpenError (not a usage error) when it cannot."""
    from kode.runtime.environment import NotFound
    from kode.runtime.ssh import SshEnvironment
    from kode.runtime.ssh_target import SshError

    try:
        return await SshEnvironment.open(location)
    except ValueError as exc:
        raise OpenError(f"--remote: {exc}") from None
    except (SshError, NotFound) as exc:
        raise OpenError(str(exc), usage=False) from None
