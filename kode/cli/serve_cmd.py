"""`kode serve` (headless, many sessions) and the server half of `kode --serve`.

Both judge their flags like `kode ask` (one broken config, one line, exit 2), choose the token
(`kode.server.runner.choose_token`) and bind before anything slow happens, so a taken port or a
refused address fails in milliseconds.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from kode.cli import exit_codes
from kode.cli.common import Prepared, Refused, SessionFlags, fail, fast_exit, prepare, warm_litellm


@dataclass(slots=True)
class ServeOptions(SessionFlags):
    host: str | None = None
    port: int | None = None
    token_file: Path | None = None
    socket: str | None = None
    """A unix socket path instead of TCP ("auto": one per workspace in the data dir)."""
    ssh: bool = False
    """Also run kode's own SSH server (public-key only): `ssh -p PORT host` gets the TUI."""
    ssh_host: str = "127.0.0.1"
    ssh_port: int = 2222
    authorized_keys: Path | None = None
    background: bool = False
    """Start (or find) a detached server on the socket, print how to reach it, and exit."""


@dataclass(slots=True)
class Listening:
    """A bound socket and the token it requires, ready for `kode.server.runner.Server`."""

    host: str
    sock: object
    token: str
    token_source: str
    token_created: bool


def listen(prepared: Prepared, options: ServeOptions) -> Listening:
    """Choose the token and bind, or raise Refused with the reason."""
    from kode.server.runner import ServeError, bind_socket, bind_unix_socket, choose_token

    server = prepared.loaded.settings.server
    host = options.host or server.host
    port = server.port if options.port is None else options.port
    try:
        if options.socket:
            choice = choose_token(None, options.token_file)
            sock = bind_unix_socket(socket_path(options.socket, prepared.cwd))
        else:
            choice = choose_token(host, options.token_file)
            sock = bind_socket(host, port)
    except ServeError as exc:
        raise Refused(str(exc)) from None
    return Listening(host, sock, choice.token, choice.source, choice.created)


def session_argv(options: ServeOptions, *, serve: bool) -> list[str]:
    """The session flags as command-line arguments, to hand on to a child `kode serve` (serve)
    or `kode ask`."""
    argv: list[str] = []
    pairs = [
        ("--model", options.model),
        ("--api-base", options.api_base),
        ("--max-turns", options.max_turns),
        ("--permission-mode", options.permission_mode),
        ("--system", options.system),
        ("--append-system", options.append_system),
        ("--remote", options.remote),
    ]
    if serve:
        pairs.append(("--token-file", options.token_file))
    for flag, value in pairs:
        if value is not None:
            argv += [flag, str(value)]
    for rule in options.allow:
        argv += ["--allow", rule]
    for rule in options.deny:
        argv += ["--deny", rule]
    if not options.save:
        argv.append("--no-save")
    return argv


def socket_path(value: str, workspace: Path) -> Path:
    """`--socket PATH`, or for "auto" one socket per workspace under the data dir."""
    if value != "auto":
        return Path(value).expanduser().resolve()
    import hashlib

    from kode.config.paths import data_dir

    digest = hashlib.sha256(str(workspace).encode()).hexdigest()[:16]
    return data_dir() / "sockets" / f"{digest}.sock"


def announce(url: str, listening: Listening, *, workspace: Path, out=sys.stderr) -> None:  # type: ignore[no-untyped-def]
    """Say where the server is and how to authenticate; a new token is shown this once."""
    out.write(f"kode serve: listening on {url} (workspace {workspace})\n")
    if url.startswith("unix:"):
        out.flush()
        return
    if listening.token_created:
        out.write(f"kode serve: token (shown once; saved 0600 in {listening.token_source}): {listening.token}\n")
    else:
        out.write(f"kode serve: token: in {listening.token_source}\n")
    out.write(f"kode serve: API {url}/v1/openapi.json; attach with `kode attach {url}`\n")
    out.flush()


def run_serve(options: ServeOptions) -> int:
    try:
        prepared = prepare(options)
        if options.background:
            from kode.cli.serve_background import run_background

            return run_background(prepared, options)
        listening = listen(prepared, options)
    except Refused as exc:
        return fail(str(exc), exc.code)
    warm_litellm()
    # uvicorn stops gracefully on SIGINT/SIGTERM and then re-raises the signal to the handler
    # it found; with these no-op handlers in place the process goes on to close the sessions
    # (statuses stored, leases released) and exits 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        code = asyncio.run(_serve(prepared, options, listening))
    except KeyboardInterrupt:
        code = exit_codes.OK
    fast_exit(code)
    return code


def hub_for(prepared: Prepared, *, save: bool, owner: str):  # type: ignore[no-untyped-def]
    from kode.host.hub import HubLimits, SessionHub

    settings = prepared.loaded.settings
    return SessionHub(
        prepared.loaded,
        cwd=prepared.cwd,
        api_key=prepared.api_key,
        save=save,
        owner=owner,
        limits=HubLimits(max_sessions=settings.server.max_sessions, idle_unload=settings.server.idle_unload),
        title_model=settings.models.fast or settings.models.main,
        remote=prepared.remote,
    )


async def _serve(prepared: Prepared, options: ServeOptions, listening: Listening) -> int:
    from kode.host.opening import OpenError
    from kode.server.runner import Server

    hub = hub_for(prepared, save=options.save, owner="kode serve")
    try:
        await hub.start()
    except OpenError as exc:
        return fail(str(exc), exit_codes.for_open_error(exc))
    server = Server(hub, prepared.loaded.settings.server.model_copy(update={"host": listening.host}),
                    token=listening.token, sock=listening.sock)  # type: ignore[arg-type]
    door = None
    try:
        if options.ssh:
            door = await open_door(prepared, options, server, listening)
        await server.serve(on_ready=lambda s: announce(s.url, listening, workspace=prepared.cwd))
    except Refused as exc:
        return fail(str(exc), exc.code)
    finally:
        if door is not None:
            await door.close()
        await hub.close()
    return exit_codes.OK


async def open_door(prepared: Prepared, options: ServeOptions, server, listening: Listening):  # type: ignore[no-untyped-def]
    """Start `--ssh`: kode's SSH server in front of this HTTP server."""
    from kode.config.paths import data_dir, home_dir
    from kode.server.ssh_door import HOST_KEY_NAME, DoorConfig, SshDoor

    keys = options.authorized_keys or home_dir() / ".ssh" / "authorized_keys"
    if not keys.is_file():
        raise Refused(f"--ssh: no authorized keys at {keys}; add your public key there or pass --authorized-keys FILE")
    door = SshDoor(
        DoorConfig(
            host=options.ssh_host,
            port=options.ssh_port,
            host_key=data_dir() / HOST_KEY_NAME,
            authorized_keys=keys,
            http_url=server.url,
            token=listening.token,
            workspace=prepared.cwd,
            session_flags=session_argv(options, serve=False),
        )
    )
    try:
        port = await door.start()
    except OSError as exc:
        raise Refused(f"--ssh: cannot listen on {options.ssh_host}:{options.ssh_port}: {exc.strerror or exc}") from None
    sys.stderr.write(f"kode serve: ssh on {options.ssh_host}:{port} (public keys from {keys}); `ssh -p {port} {options.ssh_host}`\n")
    return door
