"""Confinement on the remote host: canonical paths computed there, compared here.

The rule is `confine_local`'s (see `paths.py`), applied to the remote file system: the path is
made canonical *on the host* (every symlink of the path and of its parents followed, `..`
applied after them, a missing tail kept as written: `os.path.realpath`'s non-strict semantics),
then compared with the root component by component.

The fast path is one SFTP `realpath` request. OpenSSH's sftp-server resolves every symlink and
accepts a missing last component, which is exactly the semantics wanted; when it refuses (a
missing directory in the middle, a dangling or looping link) the canonical path is computed here
with `lstat`/`readlink` requests, following `posixpath.realpath` step by step. An SFTP server
whose `realpath` did not follow symlinks would defeat this; OpenSSH's does.
"""

from __future__ import annotations

import contextlib
import posixpath
import stat as stat_mod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kode.runtime.environment import EnvironmentError_, NotFound, WorkspaceEscape
from kode.runtime.paths import check_path_syntax, is_within

if TYPE_CHECKING:
    import asyncssh


async def remote_realpath(sftp: asyncssh.SFTPClient, path: str) -> str:
    """`os.path.realpath(path)` (non-strict) evaluated on the remote host. `path` is absolute."""
    import asyncssh

    try:
        return str(await sftp.realpath(path))
    except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPFailure, asyncssh.SFTPPermissionDenied):
        pass  # a missing middle directory, a dangling or looping link, an unreadable directory
    resolved, _ = await _join_realpath(sftp, "", path, {})
    return posixpath.abspath(resolved)


async def _is_link(sftp: asyncssh.SFTPClient, path: str) -> bool:
    import asyncssh

    try:
        attrs = await sftp.lstat(path)
    except asyncssh.SFTPError:
        return False
    return attrs.permissions is not None and stat_mod.S_ISLNK(attrs.permissions)


async def _join_realpath(
    sftp: asyncssh.SFTPClient, path: str, rest: str, seen: dict[str, str | None]
) -> tuple[str, bool]:
    """A line-by-line port of CPython's `posixpath._joinrealpath` (non-strict), over SFTP."""
    if rest.startswith("/"):
        rest = rest[1:]
        path = "/"
    while rest:
        name, _, rest = rest.partition("/")
        if not name or name == ".":
            continue
        if name == "..":
            if path:
                path, name = posixpath.split(path)
                if name == "..":
                    path = posixpath.join(path, "..", "..")
            else:
                path = ".."
            continue
        newpath = posixpath.join(path, name)
        if not await _is_link(sftp, newpath):
            path = newpath
            continue
        if newpath in seen:
            known = seen[newpath]
            if known is not None:
                path = known
                continue
            return posixpath.join(newpath, rest), False  # a symlink loop
        seen[newpath] = None
        path, ok = await _join_realpath(sftp, path, str(await sftp.readlink(newpath)), seen)
        if not ok:
            return posixpath.join(path, rest), False
        seen[newpath] = path
    return path, True


async def confine_remote(sftp: asyncssh.SFTPClient, root: str, path: str) -> str:
    """Canonical remote path of `path` (relative to `root`, or absolute), or `WorkspaceEscape`."""
    check_path_syntax(path)
    joined = path if posixpath.isabs(path) else posixpath.join(root, path)
    with sftp_errors(path):
        real = await remote_realpath(sftp, joined)
    if is_within(root, real):
        return real
    if is_within(root, posixpath.normpath(joined)):
        how = f"resolves through a symbolic link to {real}"
    else:
        how = f"points to {real}"
    raise WorkspaceEscape(
        f"Access denied: {path!r} {how}, which is outside the workspace ({root}); "
        "only paths inside the workspace can be used"
    )


def is_lost_connection(exc: BaseException) -> bool:
    """Whether `exc` means the SSH connection (or the SFTP session on it) is gone."""
    import asyncssh

    return isinstance(
        exc,
        asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection | asyncssh.ConnectionLost | asyncssh.DisconnectError,
    ) or isinstance(exc, BrokenPipeError | ConnectionResetError)


def lost_connection_error(where: str) -> EnvironmentError_:
    return EnvironmentError_(
        f"the SSH connection to {where} was lost; check the host is reachable, then start a new session"
    )


@contextlib.contextmanager
def sftp_errors(shown: str, where: str = "the remote host") -> Iterator[None]:
    """Turn SFTP errors into Environment errors whose message names the path the caller gave,
    worded as `LocalEnvironment` words the same failures."""
    import asyncssh

    try:
        yield
    except EnvironmentError_:
        raise
    except asyncssh.SFTPNoSuchFile:
        raise NotFound(f"{shown}: no such file or directory") from None
    except asyncssh.SFTPPermissionDenied:
        raise EnvironmentError_(f"{shown}: Permission denied") from None
    except asyncssh.SFTPError as exc:
        if is_lost_connection(exc):
            raise lost_connection_error(where) from None
        raise EnvironmentError_(f"{shown}: {_reason(exc)}") from None
    except FileNotFoundError:
        raise NotFound(f"{shown}: no such file or directory") from None
    except (asyncssh.Error, OSError) as exc:
        if is_lost_connection(exc):
            raise lost_connection_error(where) from None
        raise EnvironmentError_(f"{shown}: {_reason(exc)}") from None


def _reason(exc: Any) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(reason).split())
