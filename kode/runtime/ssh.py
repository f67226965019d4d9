"""`SshEnvironment`: the workspace is a directory on another machine, reached over SSH.

The same contract as `LocalEnvironment`, so tools (and the agent) cannot tell the difference:
file operations go over one SFTP session (`ssh_files`, `ssh_walk`), confinement is computed on
the remote file system (`ssh_paths`), and commands run on exec channels in their own process
group, killed whole on timeout or cancellation (`ssh_process`).

    env = await SshEnvironment.open(SshTarget.parse("ssh://dev@build:2222/srv/app"))
    try:
        await env.run("make test", timeout=600)
    finally:
        await env.close()

`which()` is synchronous in the contract, so the programs tools ask about (bash, rg, git, ...)
are looked up once when the environment opens; `probe()` adds others.

Limits, stated plainly (see also `local.py`): a path is confined just before each operation,
and the check and the operation are separate requests, so a process on the host that races to
swap a directory for a symlink in between is not defended against. Remote sessions use the login
shell's environment (PATH and all), as `ssh host command` does; that shell must be POSIX-like.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import stat as stat_mod
from collections.abc import Iterable, Sequence
from shlex import quote
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kode.runtime import ssh_files
from kode.runtime.environment import EnvironmentError_, FileStat, NotFound, OutputCallback, RunResult
from kode.runtime.paths import check_path_syntax, relative_to_root
from kode.runtime.ssh_files import RemoteHost
from kode.runtime.ssh_kill import kill_all
from kode.runtime.ssh_paths import confine_remote, remote_realpath, sftp_errors
from kode.runtime.ssh_process import remote_command, run_remote
from kode.runtime.ssh_target import SshError, SshTarget, connect_ssh
from kode.runtime.ssh_walk import walk_files

if TYPE_CHECKING:
    import asyncssh

PROBED_PROGRAMS = (
    "bash", "sh", "setsid", "env", "rg", "git", "grep", "find", "sed", "awk", "diff", "patch", "make", "cmake",
    "python3", "python", "pip", "pip3", "uv", "node", "npm", "npx", "pnpm", "yarn", "bun", "deno", "go", "cargo",
    "rustc", "gcc", "cc", "clang", "java", "mvn", "gradle", "ruby", "perl", "php", "dotnet", "docker", "kubectl",
    "curl", "wget", "tar", "gzip", "unzip", "jq", "fd", "ps", "pgrep",
)  # fmt: skip
"""Programs looked up when the environment opens, so the synchronous `which()` can answer."""

MAX_CONCURRENT_COMMANDS = 8
"""sshd allows 10 sessions per connection by default (MaxSessions): SFTP takes one, killing a
command needs one, the rest run commands; more wait their turn."""


class SshEnvironment:
    """The workspace is `root` on an SSH host; commands run there as the SSH user."""

    def __init__(self, conn: asyncssh.SSHClientConnection, host: RemoteHost, *, kill_grace: float = 1.0) -> None:
        """Use `SshEnvironment.open`; this takes an open connection and a prepared host."""
        self._conn = conn
        self._host = host
        self.kill_grace = kill_grace
        self._which: dict[str, str | None] = {}
        self._commands = asyncio.Semaphore(MAX_CONCURRENT_COMMANDS)
        self._kill_slot = asyncio.Semaphore(1)
        self._active: set[Any] = set()
        """Sessions of the commands running now (shared with environments made by `rooted_at`)."""
        self._parent: SshEnvironment | None = None

    @classmethod
    async def open(
        cls,
        target: SshTarget | str,
        *,
        kill_grace: float = 1.0,
        probe: Iterable[str] = (),
        **connect_kwargs: Any,
    ) -> SshEnvironment:
        """Connect (see `connect_ssh` for the keyword arguments), find the canonical workspace
        root and look up the usual programs. Raises `SshError` (cannot connect) or `NotFound`
        (the root is not a directory)."""
        if isinstance(target, str):
            target = SshTarget.parse(target)
        conn = await connect_ssh(target, **connect_kwargs)
        try:
            try:
                sftp = await conn.start_sftp_client(path_errors="surrogateescape")
            except Exception as exc:  # noqa: BLE001 - any failure here has one remedy
                raise SshError(
                    f"SFTP is not available on {target.authority} ({exc}); enable the sftp Subsystem in sshd_config"
                ) from None
            root = await _find_root(sftp, target, target.authority)
            env = cls(conn, RemoteHost(sftp=sftp, root=root, where=target.authority), kill_grace=kill_grace)
            await env.probe((*PROBED_PROGRAMS, *probe), identity=True)
        except BaseException:
            conn.close()
            raise
        return env

    async def rooted_at(self, path: str) -> SshEnvironment:
        """Another workspace on the same host and connection (a worktree for a sub-agent, a
        fresh directory per test), without connecting again. `path` is absolute on the host and
        need not be inside this workspace; closing the new environment leaves the connection open."""
        root = await _find_root(self._host.sftp, SshTarget(host="", path=path), self._host.where)
        host = RemoteHost(self._host.sftp, root, self._host.where, self._host.uid, self._host.gids, self._host.umask)
        env = SshEnvironment(self._conn, host, kill_grace=self.kill_grace)
        env._which = self._which
        env._commands = self._commands  # one connection, one MaxSessions budget
        env._kill_slot = self._kill_slot
        env._active = self._active
        env._parent = self
        return env

    async def close(self) -> None:
        """Kill every command still running (its whole process group, as a cancellation would),
        then close the SFTP session and the connection: nothing is left behind on the host."""
        if self._parent is not None:
            return  # the connection belongs to the environment this one was made from
        if self._active:
            await kill_all(self._conn, self._active, self.kill_grace, self._kill_slot)
        with contextlib.suppress(Exception):
            self._host.sftp.exit()
        self._conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._conn.wait_closed(), 5)

    async def __aenter__(self) -> SshEnvironment:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"SshEnvironment({self._host.where}:{self._host.root!r})"

    @property
    def root(self) -> str:
        return self._host.root

    @property
    def location(self) -> str:
        return f"ssh://{self._host.where}{self._host.root}"

    @property
    def connection(self) -> asyncssh.SSHClientConnection:
        """The SSH connection, for callers that need more than the Environment (port forwards)."""
        return self._conn

    # -- paths ---------------------------------------------------------------------------------

    async def _resolve(self, path: str) -> str:
        return await confine_remote(self._host.sftp, self._host.root, path)

    async def resolve(self, path: str, *, must_exist: bool = False) -> str:
        real = await self._resolve(path)
        if must_exist:
            with sftp_errors(path, self._host.where):
                if await ssh_files.try_stat(self._host, real, follow=False) is None:
                    raise NotFound(f"{path}: no such file or directory")
        return real

    # -- files ---------------------------------------------------------------------------------

    async def stat(self, path: str) -> FileStat | None:
        return await ssh_files.stat(self._host, path, await self._resolve(path))

    async def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        return await ssh_files.read_bytes(self._host, path, await self._resolve(path), limit)

    async def write_bytes(self, path: str, data: bytes) -> None:
        await ssh_files.write_bytes(self._host, path, await self._resolve(path), data)

    async def list_dir(self, path: str) -> list[FileStat]:
        return await ssh_files.list_dir(self._host, path, await self._resolve(path))

    async def walk_files(self, path: str = ".", *, include_ignored: bool = False) -> list[str]:
        real = await self.resolve(path, must_exist=True)
        start = relative_to_root(self._host.root, real)
        return await walk_files(self._host, path, real, start, include_ignored)

    # -- programs ------------------------------------------------------------------------------

    def which(self, program: str) -> str | None:
        """Absolute path of `program` on the host (as the login shell's PATH finds it), from the
        lookup made when the environment opened (or by `probe`); None for programs never probed."""
        return self._which.get(program)

    async def probe(self, programs: Iterable[str], *, identity: bool = False) -> None:
        """Look `programs` up on the host in one command, so `which()` can answer for them.
        With `identity`, also learn the user's uid, groups and umask (for permission checks and
        the mode of new files)."""
        names = " ".join(quote(p) for p in dict.fromkeys(programs) if p and "/" not in p and "\n" not in p)
        # A PATH search like shutil.which's (no fork per program; aliases and functions ignored).
        script = (
            f"for p in {names}; do f=; IFS=:; for d in $PATH; do "
            '[ -n "$d" ] && [ -f "$d/$p" ] && [ -x "$d/$p" ] && { f="$d/$p"; break; }; done; unset IFS; '
            'printf "which:%s:%s\\n" "$p" "$f"; done; '
            if names
            else ""
        )
        if identity:
            script += 'printf "umask:%s\\nuid:%s\\ngids:%s\\n" "$(umask)" "$(id -u)" "$(id -G)"'
        if not script:
            return
        try:
            result = await self._conn.run(script, check=False)
        except Exception as exc:  # noqa: BLE001 - a host we cannot run commands on is unusable
            raise SshError(f"cannot run commands on {self._host.where}: {exc}") from None
        output = result.stdout if isinstance(result.stdout, str) else ""
        for line in output.splitlines():
            kind, _, value = line.partition(":")
            if kind == "which":
                name, _, found = value.partition(":")
                self._which[name] = found if found.startswith("/") else None
            elif kind == "umask" and value.strip().isdigit():
                self._host.umask = int(value.strip(), 8)
            elif kind == "uid" and value.strip().isdigit():
                self._host.uid = int(value.strip())
            elif kind == "gids":
                self._host.gids = frozenset(int(g) for g in value.split() if g.isdigit())

    # -- processes -----------------------------------------------------------------------------

    async def run(
        self,
        command: str | Sequence[str],
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        output_limit: int = 30_000,
        on_output: OutputCallback | None = None,
        track_cwd: bool = False,
        stdin: bytes | None = None,
    ) -> RunResult:
        workdir = await self.resolve(cwd if cwd is not None else ".", must_exist=True)
        if not isinstance(command, str):
            command = list(command)
            if not command:
                raise EnvironmentError_("empty command")
        line = remote_command(command, workdir, track_cwd=track_cwd, bash=self.which("bash") or "bash")
        async with self._commands:
            result, session = await run_remote(
                self._conn,
                line,
                where=self._host.where,
                timeout=timeout,
                output_limit=output_limit,
                on_output=on_output,
                stdin=stdin,
                kill_grace=self.kill_grace,
                kill_slot=self._kill_slot,
                active=self._active,
            )
        if session.nocwd:
            raise EnvironmentError_(f"working directory {cwd!r} is not a directory")
        if session.nostart is not None:
            raise EnvironmentError_(f"cannot start {command[0]!r}: {session.nostart}")
        if track_cwd and not isinstance(command, str):
            return _with_cwd(result, workdir)  # an argv command cannot change directory
        return result

    async def refresh_which(self) -> None:
        """Look up every program again (after installing something on the host)."""
        await self.probe(list(self._which))


def _with_cwd(result: RunResult, cwd: str | None) -> RunResult:
    return RunResult(result.exit_code, result.output, result.truncated, result.timed_out, cwd)


async def _find_root(sftp: asyncssh.SFTPClient, target: SshTarget, where: str) -> str:
    """Canonical remote workspace root: the target's path (`~/x` under the home), which must be
    an existing directory."""
    path = target.path
    home = "."  # SFTP starts in the user's home directory
    if path is None or path in ("~", "~/"):
        wanted = home
    elif path.startswith("~/"):
        wanted = path[2:]
    elif path.startswith("~"):
        raise SshError(f"Cannot use {path!r} on {where}: only ~/ (your own home) is understood; "
                       "give an absolute path")  # fmt: skip
    else:
        wanted = path
    check_path_syntax(wanted)
    shown = path or "~"
    with sftp_errors(shown, where):
        absolute = wanted if posixpath.isabs(wanted) else posixpath.join(str(await sftp.realpath(home)), wanted)
        real = await remote_realpath(sftp, absolute)
        try:
            attrs = await sftp.stat(real)
        except Exception:  # noqa: BLE001 - any failure: it is not a usable directory
            attrs = None
    if attrs is None or not stat_mod.S_ISDIR(attrs.permissions or 0):
        raise NotFound(f"workspace root {shown!r} on {where} is not a directory; create it or fix the path")
    return real
