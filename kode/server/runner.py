"""Running the API under uvicorn: binding, the token, and a clean stop.

The socket is bound here, before uvicorn starts, so the real port is known (port 0 picks a free
one) when the Host and Origin checks are set up, and a taken port fails at once with a clear
message instead of inside uvicorn's logs.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kode.config.schema import ServerSettings
from kode.host.hub import SessionHub
from kode.server.app import ServerLimits, create_app
from kode.server.security import Guard, is_loopback, load_or_create_token

TOKEN_ENV = "KODE_SERVER_TOKEN"
TOKEN_FILE_NAME = "server-token"


class ServeError(Exception):
    """The server cannot start; `str()` says why and what to do."""


@dataclass(slots=True)
class TokenChoice:
    token: str
    source: str
    """Where it came from: the file path, or the environment variable's name."""
    created: bool


def default_token_file() -> Path:
    from kode.config.paths import data_dir

    return data_dir() / TOKEN_FILE_NAME


def choose_token(host: str | None, token_file: Path | None, environ: dict[str, str] | None = None) -> TokenChoice:
    """The token to require: $KODE_SERVER_TOKEN, else the token file (created 0600 if absent).

    On a non-loopback address the token must be chosen on purpose (the variable or an explicit
    `--token-file`): a server reachable from the network with a token nobody decided on is how
    assistants end up open to the LAN.
    """
    env = os.environ if environ is None else environ
    if env.get(TOKEN_ENV, "").strip():
        token = env[TOKEN_ENV].strip()
        if len(token) < 16:
            raise ServeError(f"{TOKEN_ENV} is too short: use at least 16 characters (e.g. `openssl rand -hex 16`)")
        return TokenChoice(token, TOKEN_ENV, False)
    if host is not None and not is_loopback(host) and token_file is None:  # None: a unix socket
        raise ServeError(
            f"refusing to listen on {host} without a token chosen on purpose: anyone who can reach it "
            f"could run commands here. Pass --token-file PATH or set {TOKEN_ENV}, or bind 127.0.0.1."
        )
    path = token_file or default_token_file()
    try:
        token, created = load_or_create_token(path)
    except OSError as exc:
        raise ServeError(f"cannot read or create the token file {path}: {exc.strerror or exc}") from None
    return TokenChoice(token, str(path), created)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only for sockets it knows are TCP, and with
    # Nagle on every request after the first on a keep-alive connection waits ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        hint = " (is another kode serve running? pick another --port)" if exc.errno == 98 else ""
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def bind_unix_socket(path: Path) -> socket.socket:
    """Listen on a unix socket only this user can reach: its directory 0700, the socket 0600.

    A socket file left by a server that died is replaced; one that still answers is not.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    if path.exists():
        if socket_answers(path):
            raise ServeError(f"a server is already listening on {path}")
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {path}: {exc.strerror or exc}") from None
    os.chmod(path, 0o600)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def socket_answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


class Server:
    """One bound, configured server; `await serve()` runs it until `stop()` or cancellation."""

    def __init__(self, hub: SessionHub, settings: ServerSettings, *, token: str, sock: socket.socket) -> None:
        import uvicorn

        self.hub = hub
        self.sock = sock
        self.unix_path: str | None = sock.getsockname() if sock.family == socket.AF_UNIX else None
        self.port: int = 0 if self.unix_path else sock.getsockname()[1]
        self.host: str = settings.host
        guard = Guard(
            token=token,
            host=self.host,
            port=self.port,
            allowed_origins=settings.allowed_origins,
            any_port=self.unix_path is not None,
        )
        guard.bind(self.port)
        limits = ServerLimits(
            max_connections=settings.max_connections,
            max_body_bytes=settings.max_body_bytes,
            heartbeat=settings.heartbeat,
        )
        self.app = create_app(hub, guard, limits)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            ws_max_size=settings.max_body_bytes,
            ws_ping_interval=settings.heartbeat,
            ws_ping_timeout=settings.heartbeat * 2,
            timeout_graceful_shutdown=2,
            lifespan="off",
            server_header=False,
        )
        self._server = uvicorn.Server(config)

    @property
    def url(self) -> str:
        if self.unix_path:
            return f"unix:{self.unix_path}"
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    async def serve(self, on_ready: Callable[[Server], object] | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[self.sock]))
        while not self._server.started and not task.done():
            await asyncio.sleep(0.01)
        if on_ready is not None and self._server.started:
            on_ready(self)
        await task

    def stop(self) -> None:
        self._server.should_exit = True
