"""`kode attach URL [--session ID]`: the same TUI, on a session served by `kode serve`.

Before the TUI takes the screen, the server is asked (synchronously) for the session: an
unreachable server, a wrong token or an unknown session is one line on stderr and exit code 2
(or 1), not a TUI that opens onto nothing. Then the TUI runs on a RemoteClient, which follows
the session's events and reconnects by itself; another client on the same session sees
everything this one does.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kode.cli import exit_codes
from kode.cli.common import fail


@dataclass(slots=True)
class AttachOptions:
    url: str
    session: str | None = None
    new: bool = False
    token_file: Path | None = None
    theme: str | None = None


def read_token(token_file: Path | None) -> str:
    """$KODE_SERVER_TOKEN, else the token file (default: this machine's server-token)."""
    from kode.server.runner import TOKEN_ENV, default_token_file

    if os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip()
    path = token_file or default_token_file()
    try:
        return path.read_text().strip()
    except OSError:
        return ""


class RemoteActions:
    """/new and /resume against the server: its sessions, not this machine's store."""

    def __init__(self, server: Any) -> None:
        self.server = server

    async def new_session(self) -> Any:
        view = await self.server.create_session()
        return self.server.client(view.id)

    async def list_sessions(self) -> list[Any]:
        from kode.tui.actions import SessionSummary

        return [
            SessionSummary(
                v.id, v.title, datetime.fromtimestamp(v.updated_at, UTC) if v.updated_at else None, v.model
            )
            for v in await self.server.list_sessions()
        ]

    async def resume(self, session_id: str) -> Any:
        view = await self.server.get_session(session_id)
        return self.server.client(view.id)

    async def export(self, session_id: str, path: Path | None) -> Path:
        from kode.tui.actions import NotSupported

        raise NotSupported("the TUI exports what it shows")


def pick_session(url: str, token: str, options: AttachOptions) -> Any:
    """The session to attach to: --session, else a new one with --new, else the most recently
    active loaded one, else a new one. Raises RemoteError with what went wrong."""
    from kode.client.remote_sync import SyncRemoteServer

    with SyncRemoteServer(url, token, timeout=10.0) as server:
        if options.session:
            return server.get_session(options.session)
        if not options.new:
            loaded = [view for view in server.list_sessions() if view.loaded]
            if loaded:
                return max(loaded, key=lambda view: view.last_seq)
        return server.create_session()


def open_ssh(url: str) -> tuple[str, str]:
    """Start or find `kode serve` on the SSH host and tunnel to it: the local URL and token.

    The tunnel lives in a background thread for the rest of the process."""
    from kode.client.ssh_tunnel import TunnelThread
    from kode.runtime.ssh_target import SshTarget

    target = SshTarget.parse(url)
    tunnel = TunnelThread()
    local = tunnel.open(target)
    assert tunnel.remote is not None
    return local, tunnel.remote.token


def run_attach(options: AttachOptions) -> int:
    from kode.client.http_common import RemoteError

    url = options.url.rstrip("/")
    if not url.startswith(("http://", "https://", "ssh://")):
        return fail(
            f"attach needs an http://, https:// or ssh:// URL (got {options.url!r}); "
            "e.g. kode attach http://127.0.0.1:8765 or kode attach ssh://me@host/path/to/project"
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get("KODE_TUI_FORCE"):
        return fail("the TUI needs a terminal; use the HTTP API (docs/server.md) from scripts")
    shown = url
    if url.startswith("ssh://"):
        try:
            url, token = open_ssh(url)
        except ValueError as exc:
            return fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - SshError and the remote's own refusals: one line
            return fail(str(exc), exit_codes.AGENT_ERROR)
    else:
        token = read_token(options.token_file)
    if not token:
        return fail("no server token: set KODE_SERVER_TOKEN or pass --token-file (kode serve printed where it is)")
    try:
        view = pick_session(url, token, options)
    except RemoteError as exc:
        code = exit_codes.AGENT_ERROR if exc.code == "unreachable" else exit_codes.USAGE
        return fail(str(exc), code)

    from kode.client.remote import RemoteServer
    from kode.tui import AppOptions, KodeApp

    server = RemoteServer(url, token)
    app_options = AppOptions.standard(
        Path(view.cwd),
        model=view.model,
        permission_mode=view.permission_mode or "default",
        theme=options.theme or "",
        actions=RemoteActions(server),
        detect_branch=Path(view.cwd).is_dir(),
        **({} if Path(view.cwd).is_dir() else {"list_paths": list}),  # a remote workspace: no local @ paths
        banner_note=f"attached to {shown} · session {view.id}",
    )
    code = KodeApp(server.client(view.id), options=app_options).run()
    return code if isinstance(code, int) else exit_codes.OK
