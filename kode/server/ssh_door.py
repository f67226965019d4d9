"""`kode serve --ssh`: kode's own SSH server, so `ssh -p 2222 host` gets the TUI.

Public-key authentication only, against an authorized_keys file; password, keyboard-interactive
and "none" are not offered. Port forwarding (both directions), agent and X11 forwarding, SFTP
and every other subsystem are refused. A login must finish within `login_timeout`, and an
address that fails authentication too often is shut out for a while.

What a login gets:
- a shell request with a PTY: the TUI (`kode attach` on this server's loopback HTTP address),
  in a real pseudo-terminal that follows the client's window size;
- `ssh host ask "…"`: a one-shot `kode ask` in the workspace, with its exit status;
- `ssh -t host attach [--new | --session ID]`: the TUI on a chosen session.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import shlex
import struct
import sys
import termios
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

HOST_KEY_NAME = "ssh_host_ed25519_key"
STDIN_GRACE = 0.3
"""Seconds an `ask` waits for the client to send stdin (or EOF) before running without it."""


@dataclass(slots=True)
class DoorConfig:
    host: str
    port: int
    host_key: Path
    authorized_keys: Path
    http_url: str
    """This server's loopback HTTP address, which the TUI of a login attaches to."""
    token: str
    workspace: Path
    session_flags: list[str] = field(default_factory=list)
    """The model and permission flags `kode serve` was given, handed on to `kode ask`."""
    login_timeout: float = 30.0
    max_failures: int = 10
    ban_seconds: float = 60.0


def ensure_host_key(path: Path) -> None:
    """Generate the server's host key once (0600); later starts reuse it, so clients can trust it."""
    if path.exists():
        os.chmod(path, 0o600)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key())


class FailureLimiter:
    """Counts failed authentications per address; too many in `window` seconds bans it."""

    def __init__(self, max_failures: int, ban_seconds: float) -> None:
        self.max_failures = max_failures
        self.ban_seconds = ban_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._banned: dict[str, float] = {}

    def banned(self, address: str) -> bool:
        until = self._banned.get(address)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._banned[address]
            return False
        return True

    def failed(self, address: str) -> None:
        now = time.monotonic()
        recent = self._failures[address]
        recent.append(now)
        while recent and now - recent[0] > self.ban_seconds:
            recent.popleft()
        if len(recent) >= self.max_failures:
            self._banned[address] = now + self.ban_seconds
            recent.clear()


class _Server(asyncssh.SSHServer):
    def __init__(self, door: SshDoor) -> None:
        self.door = door
        self.address = ""
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("", 0)
        self.address = peer[0]
        if self.door.limiter.banned(self.address):
            conn.close()

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        allowed = self.door.authorized(key, self.address)
        if not allowed:
            self.door.limiter.failed(self.address)
            if self.door.limiter.banned(self.address) and self.conn is not None:
                self.conn.close()
        return allowed

    # Everything but a session is refused: no tunnels of any kind.
    def connection_requested(self, *args: Any) -> bool:
        return False

    def server_requested(self, *args: Any) -> bool:
        return False

    def unix_connection_requested(self, *args: Any) -> bool:
        return False

    def unix_server_requested(self, *args: Any) -> bool:
        return False

    def tun_requested(self, *args: Any) -> bool:
        return False

    def tap_requested(self, *args: Any) -> bool:
        return False

    def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
        return _Session(self.door)


class _Session(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """One SSH channel: a PTY'd TUI, or an `ask`, run as a child process of kode."""

    def __init__(self, door: SshDoor) -> None:
        self.door = door
        self.chan: Any = None
        self.term = "xterm-256color"
        self.size = (80, 24)
        self.pty = False
        self.command: str | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.master: int | None = None
        self._stdin: list[bytes] = []
        self._eof = False
        self._input_seen = asyncio.Event()

    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any) -> bool:
        self.pty = True
        self.term = term_type or self.term
        self.size = (term_size[0] or 80, term_size[1] or 24)
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False  # no sftp, no anything

    def session_started(self) -> None:
        asyncio.get_running_loop().create_task(self._run())

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (width or self.size[0], height or self.size[1])
        if self.master is not None:
            _set_size(self.master, *self.size)

    def data_received(self, data: bytes, datatype: Any) -> None:
        self._input_seen.set()
        if self.master is not None:
            os.write(self.master, data)
        elif self.process is not None and self.process.stdin is not None:
            self.process.stdin.write(data)
        else:
            self._stdin.append(data)

    def eof_received(self) -> bool:
        self._eof = True
        self._input_seen.set()
        if self.process is not None and self.process.stdin is not None and self.master is None:
            self.process.stdin.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.process is not None and self.process.returncode is None:
            try:
                os.killpg(self.process.pid, 15)
            except ProcessLookupError:
                pass

    async def _run(self) -> None:
        try:
            argv = self.door.argv_for(self.command)
        except ValueError as exc:
            self.chan.write(f"kode: {exc}\r\n".encode())
            self.chan.exit(2)
            return
        if self.pty:
            status = await self._run_in_pty(argv)
        else:
            status = await self._run_piped(argv)
        self.chan.exit(status)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "TERM": self.term, "KODE_SERVER_TOKEN": self.door.config.token}

    async def _run_in_pty(self, argv: list[str]) -> int:
        master, slave = pty.openpty()
        _set_size(master, *self.size)
        self.master = master
        self.process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=self._env(),
            cwd=self.door.config.workspace,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        for data in self._stdin:
            os.write(master, data)
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def readable() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if data:
                self.chan.write(data)
            elif not done.done():
                done.set_result(None)

        loop.add_reader(master, readable)
        status = await self.process.wait()
        await asyncio.wait({done}, timeout=1.0)
        loop.remove_reader(master)
        os.close(master)
        self.master = None
        return status if status >= 0 else 128 - status

    async def _run_piped(self, argv: list[str]) -> int:
        """`ask` without a PTY. Its stdin is the client's when the client sends some (or EOF)
        at once, as `git diff | ssh host ask "review"` and `ssh -n` do; a client whose stdin is
        a terminal sends nothing, and `kode ask` then must not wait for it."""
        try:
            await asyncio.wait_for(self._input_seen.wait(), STDIN_GRACE)
            piped = True
        except TimeoutError:
            piped = False
        self.process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if piped else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env(),
            cwd=self.door.config.workspace,
            start_new_session=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        if self.process.stdin is not None:
            for data in self._stdin:
                self.process.stdin.write(data)
            if self._eof:
                self.process.stdin.close()

        async def copy(stream: asyncio.StreamReader, kind: Any) -> None:
            while data := await stream.read(65536):
                self.chan.write(data, kind)

        await asyncio.gather(copy(self.process.stdout, None), copy(self.process.stderr, asyncssh.EXTENDED_DATA_STDERR))
        status = await self.process.wait()
        return status if status >= 0 else 128 - status


def _take_terminal() -> None:
    """In the child, after setsid: make the pty its controlling terminal, so a window change
    (TIOCSWINSZ on the master) reaches it as SIGWINCH and Ctrl-C as SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class SshDoor:
    """The SSH listener; `start()` binds, `close()` stops it and every login's child."""

    def __init__(self, config: DoorConfig) -> None:
        self.config = config
        self.limiter = FailureLimiter(config.max_failures, config.ban_seconds)
        self._server: Any = None
        self.port = config.port

    def authorized(self, key: asyncssh.SSHKey, address: str) -> bool:
        """Checked against the file at every login, so removing a key takes effect at once."""
        try:
            keys = asyncssh.read_authorized_keys(str(self.config.authorized_keys))
        except (OSError, ValueError):
            return False
        return keys.validate(key, "", address) is not None

    def argv_for(self, command: str | None) -> list[str]:
        """The kode command a login runs: the TUI, `ask …` or `attach …`; anything else is refused."""
        kode = [sys.executable, "-m", "kode"]
        if command is None or not command.strip():
            return [*kode, "attach", self.config.http_url]
        words = shlex.split(command)
        if words[0] == "kode":
            words = words[1:]
        if words and words[0] == "ask":
            return [*kode, "ask", *self.config.session_flags, *words[1:]]
        if words and words[0] == "attach":
            return [*kode, "attach", self.config.http_url, *words[1:]]
        raise ValueError("this SSH server runs kode only: a shell login (the TUI), `ask PROMPT`, or `attach [--new]`")

    async def start(self) -> int:
        ensure_host_key(self.config.host_key)
        self._server = await asyncssh.create_server(
            lambda: _Server(self),
            self.config.host,
            self.config.port,
            server_host_keys=[str(self.config.host_key)],
            login_timeout=self.config.login_timeout,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            encoding=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
