"""The Environment: the only way tools touch a machine.

Tools never call `os`, `open` or `subprocess` themselves. They ask the session's Environment,
so the same tool works on the local disk, in a sandbox, or on a host reached over SSH, and the
agent cannot tell which one it has. Every path an Environment accepts is workspace-relative (or
absolute inside the workspace); `resolve` confines it and raises `WorkspaceEscape` otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class EnvironmentError_(Exception):
    """Base for errors an Environment reports to a tool (shown to the model as the tool's error)."""


class WorkspaceEscape(EnvironmentError_):
    """A path resolved to somewhere outside the workspace root."""


class NotFound(EnvironmentError_):
    """The path does not exist."""


@dataclass(frozen=True, slots=True)
class FileStat:
    path: str
    """Canonical absolute path."""
    is_dir: bool
    is_file: bool
    size: int
    mode: int
    mtime: float


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int | None
    """None when the process was killed (timeout or cancellation) before it exited."""
    output: str
    """Interleaved stdout and stderr, already capped by the caller's `output_limit`."""
    truncated: bool
    timed_out: bool
    cwd_after: str | None
    """The working directory the command ended in (for `cd` carrying over), if known."""


OutputCallback = Callable[[str], Awaitable[None] | None]


@runtime_checkable
class Environment(Protocol):
    """Where tools run. Implementations: `LocalEnvironment` (now), sandboxed and SSH (later)."""

    @property
    def root(self) -> str:
        """Canonical absolute path of the workspace root."""
        ...

    @property
    def location(self) -> str:
        """Where the workspace is, as sessions record it: the root for a local workspace,
        `ssh://user@host:port/root` for a remote one (resume reconnects from it)."""
        ...

    async def rooted_at(self, path: str) -> Environment:
        """An environment of the same kind (same host, same connection) rooted at `path`, an
        absolute path that need not be inside this workspace: a sub-agent's git worktree."""
        ...

    async def resolve(self, path: str, *, must_exist: bool = False) -> str:
        """Canonical absolute path for `path` (relative to the root), confined to the workspace.

        Follows symlinks (of the path and of every parent). Raises `WorkspaceEscape` for anything
        that lands outside the root, including `..`, absolute paths elsewhere, symlinks pointing
        out and sibling-prefix names such as `/ws-evil` for `/ws`.
        """
        ...

    async def stat(self, path: str) -> FileStat | None:
        """Stat a confined path; None when it does not exist."""
        ...

    async def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        """Read a confined file (at most `limit` bytes when given)."""
        ...

    async def write_bytes(self, path: str, data: bytes) -> None:
        """Atomically replace a confined file (temp file + rename), keeping an existing file's mode.

        Creates missing parent directories inside the workspace.
        """
        ...

    async def list_dir(self, path: str) -> list[FileStat]:
        """Entries of a confined directory (not recursive)."""
        ...

    async def walk_files(self, path: str = ".", *, include_ignored: bool = False) -> list[str]:
        """Workspace-relative paths of every file below `path`, honouring .gitignore files unless
        `include_ignored` is set, always skipping `.git/`, never following symlinks. Sorted."""
        ...

    def which(self, program: str) -> str | None:
        """Absolute path of an executable available to `run`, or None."""
        ...

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
        """Run a shell command string (via bash) or an argv list, in its own process group.

        On timeout or task cancellation the whole process group is killed (TERM, then KILL) before
        this returns or re-raises; nothing it started is left running. `on_output` receives output
        chunks as they arrive. With `track_cwd` the final working directory is reported in
        `RunResult.cwd_after`.
        """
        ...
