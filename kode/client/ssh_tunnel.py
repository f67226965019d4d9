"""Reaching a `kode serve` on another host through SSH: bootstrap it, then tunnel to it.

`kode attach ssh://user@host/path` runs `kode serve --socket auto --background` on the host
(which starts a detached server on a unix socket there, or finds the one already running for
that workspace) and reads back the socket path and token from that command's output. Then a
local port on 127.0.0.1 carries each connection over the SSH connection to the remote unix
socket (direct-streamlocal): the remote server never listens on a network port.

The local port stays the same for the life of the tunnel. When the SSH connection drops, the
next connection through the port reconnects it, so the remote client's own reconnect (SSE with
Last-Event-ID) picks up exactly where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from kode.runtime.ssh_target import SshError, SshTarget, connect_ssh

REMOTE_KODE_ENV = "KODE_REMOTE_KODE"
"""The command that runs kode on the remote host (default `kode`), e.g. `~/.local/bin/kode`."""


@dataclass(slots=True)
class RemoteServe:
    """What the bootstrap on the remote host reported."""

    socket: str
    token: str
    reused: bool
    cwd: str


def bootstrap_command(target: SshTarget, remote_kode: str | None = None) -> str:
    kode = remote_kode or os.environ.get(REMOTE_KODE_ENV) or "kode"
    command = f"{kode} serve --socket auto --background"
    if target.path:
        path = target.path
        quoted = "~/" + shlex.quote(path[2:]) if path.startswith("~/") else shlex.quote(path)
        command += f" --cwd {quoted}"
    return command


async def bootstrap(connection: Any, target: SshTarget, remote_kode: str | None = None) -> RemoteServe:
    """Start or reuse the remote server; SshError with the remote's own words when it fails."""
    command = bootstrap_command(target, remote_kode)
    result = await connection.run(command, check=False, timeout=90)
    lines = (result.stdout or "").strip().splitlines()
    if result.exit_status == 0 and lines:
        try:
            data = json.loads(lines[-1])
            return RemoteServe(data["socket"], data["token"], bool(data["reused"]), data["cwd"])
        except (ValueError, KeyError, TypeError):
            pass
    said = (result.stderr or "").strip().splitlines()
    if result.exit_status == 127:
        raise SshError(
            f"kode is not installed on {target.host} (or not on the PATH of a non-interactive shell): "
            f"install it there, or set {REMOTE_KODE_ENV} to its path"
        )
    reason = said[-1] if said else f"exit status {result.exit_status}"
    raise SshError(f"could not start kode serve on {target.host}: {reason}")


class SshTunnel:
    """127.0.0.1:port → (SSH) → a unix socket on the remote host, reconnecting SSH on demand."""

    def __init__(self, target: SshTarget, socket_path: str, connect: Callable[[], Awaitable[Any]], connection: Any) -> None:
        self.target = target
        self.socket_path = socket_path
        self._connect = connect
        self._connection = connection
        self._lock = asyncio.Lock()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _ssh(self) -> Any:
        async with self._lock:
            if self._connection is None or self._connection.is_closed():
                self._connection = await self._connect()
            return self._connection

    async def _handle(self, local_reader: asyncio.StreamReader, local_writer: asyncio.StreamWriter) -> None:
        try:
            connection = await self._ssh()
            remote_reader, remote_writer = await connection.open_unix_connection(self.socket_path)
        except Exception:  # noqa: BLE001 - the client sees a dropped connection and retries
            local_writer.close()
            return

        async def pipe(reader: Any, writer: Any) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except Exception:  # noqa: BLE001 - a socket or channel error ends this connection only
                pass
            finally:
                with contextlib.suppress(Exception):
                    if writer.can_write_eof():
                        writer.write_eof()
                    else:
                        writer.close()

        await asyncio.gather(pipe(local_reader, remote_writer), pipe(remote_reader, local_writer))
        local_writer.close()
        remote_writer.close()

    def drop(self) -> None:
        """Close the SSH connection (tests: a dropped network); the next use reconnects."""
        if self._connection is not None:
            self._connection.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._connection is not None:
            self._connection.close()


class TunnelThread:
    """The tunnel on its own event loop in a background thread, so blocking code (the session
    check before the TUI starts) and the TUI's loop can both use it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.tunnel: SshTunnel | None = None
        self.remote: RemoteServe | None = None
        threading.Thread(target=self.loop.run_forever, name="kode-ssh-tunnel", daemon=True).start()

    def call(self, coroutine: Any, timeout: float | None = 120) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def open(self, target: SshTarget, *, remote_kode: str | None = None, **connect_options: Any) -> str:
        """Connect, bootstrap the remote server, start the tunnel; the local URL to use."""

        async def connect() -> Any:
            return await connect_ssh(target, **connect_options)

        async def start() -> str:
            connection = await connect()
            self.remote = await bootstrap(connection, target, remote_kode)
            self.tunnel = SshTunnel(target, self.remote.socket, connect, connection)
            return f"http://127.0.0.1:{await self.tunnel.start()}"

        return self.call(start())

    def close(self) -> None:
        if self.tunnel is not None:
            self.call(self.tunnel.close(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
