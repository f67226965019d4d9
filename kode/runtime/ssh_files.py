"""File operations of `SshEnvironment`, over one SFTP session.

Each function takes a canonical, already-confined remote path (see `ssh_paths.confine_remote`)
and mirrors what `LocalEnvironment` does with the same path, error for error, so a tool cannot
tell which environment answered. SFTP requests are pipelined by asyncssh; the functions keep
round trips few (a stat that also tells whether a path exists, a read sized from that stat).
"""

from __future__ import annotations

import errno
import posixpath
import secrets
import stat as stat_mod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kode.runtime.environment import EnvironmentError_, FileStat, NotFound, WorkspaceEscape
from kode.runtime.paths import is_within
from kode.runtime.ssh_paths import remote_realpath, sftp_errors

if TYPE_CHECKING:
    import asyncssh

_READ_CHUNK = 256 * 1024


@dataclass(slots=True)
class RemoteHost:
    """What the file operations need to know about the far side."""

    sftp: asyncssh.SFTPClient
    root: str
    where: str
    """`user@host:port`, for messages."""
    uid: int = -1
    gids: frozenset[int] = field(default_factory=frozenset)
    umask: int = 0o022


def file_stat(path: str, attrs: Any) -> FileStat:
    mode = attrs.permissions or 0
    return FileStat(
        path=path,
        is_dir=stat_mod.S_ISDIR(mode),
        is_file=stat_mod.S_ISREG(mode),
        size=attrs.size or 0,
        mode=stat_mod.S_IMODE(mode),
        mtime=float(attrs.mtime or 0) + (getattr(attrs, "mtime_ns", None) or 0) % 1_000_000_000 / 1e9,
    )


async def try_stat(host: RemoteHost, real: str, *, follow: bool = True) -> Any | None:
    """SFTP attributes of `real`, or None when it does not exist."""
    import asyncssh

    try:
        return await (host.sftp.stat(real) if follow else host.sftp.lstat(real))
    except asyncssh.SFTPNoSuchFile:
        return None


async def stat(host: RemoteHost, shown: str, real: str) -> FileStat | None:
    with sftp_errors(shown, host.where):
        attrs = await try_stat(host, real)
    return None if attrs is None else file_stat(real, attrs)


async def read_bytes(host: RemoteHost, shown: str, real: str, limit: int | None) -> bytes:
    with sftp_errors(shown, host.where):
        # lstat, not stat: `real` is canonical, so a symlink here was swapped in since (local
        # opens with O_NOFOLLOW). Checking the type first also keeps a FIFO from being opened,
        # which would block the (single-threaded) sftp-server.
        attrs = await try_stat(host, real, follow=False)
        if attrs is None:
            raise NotFound(f"{shown}: no such file or directory")
        mode = attrs.permissions or 0
        if stat_mod.S_ISLNK(mode):
            raise EnvironmentError_(f"{shown}: too many levels of symbolic links (or a link was swapped in)")
        if stat_mod.S_ISDIR(mode):
            raise EnvironmentError_(f"{shown}: is a directory, not a file")
        if not stat_mod.S_ISREG(mode):
            raise EnvironmentError_(f"{shown}: not a regular file")
        chunks: list[bytes] = []
        got = 0
        async with host.sftp.open(real, "rb", encoding=None) as fh:
            while True:
                if limit is not None:
                    size = limit - got
                elif not chunks:
                    size = (attrs.size or 0) + 1  # the whole file in one (internally parallel) read
                else:
                    size = _READ_CHUNK  # it grew since the stat: read on to its end, as local does
                if size <= 0:
                    break
                chunk = await fh.read(size)
                chunks.append(chunk)
                got += len(chunk)
                if len(chunk) < size:
                    break  # a short read: the end of the file
    return b"".join(chunks)


async def write_bytes(host: RemoteHost, shown: str, real: str, data: bytes) -> None:
    """Temp file beside the target, written, chmod-ed, fsync-ed, then renamed over it."""
    import asyncssh

    parent = posixpath.dirname(real)
    with sftp_errors(shown, host.where):
        attrs = await try_stat(host, real)
        if attrs is None:
            mode = 0o666 & ~host.umask
        else:
            file_mode = attrs.permissions or 0
            if stat_mod.S_ISDIR(file_mode):
                raise EnvironmentError_(f"{shown}: is a directory; cannot write file content to it")
            if not stat_mod.S_ISREG(file_mode):
                raise EnvironmentError_(f"{shown}: not a regular file; refusing to replace it")
            if not _writable(host, attrs):
                raise EnvironmentError_(f"{shown}: permission denied (the file is read-only)")
            mode = stat_mod.S_IMODE(file_mode)
        tmp = posixpath.join(parent, f".{posixpath.basename(real)}.{secrets.token_hex(4)}.kode-tmp")
        try:
            fh = await host.sftp.open(tmp, "xb", encoding=None)
        except asyncssh.SFTPNoSuchFile:
            if attrs is not None:
                raise
            await _makedirs(host, parent)
            # Re-check after creating directories: a parent may have been swapped for a symlink.
            if not is_within(host.root, await remote_realpath(host.sftp, parent)):
                raise WorkspaceEscape(f"Access denied: the directory of {shown!r} left the workspace") from None
            fh = await host.sftp.open(tmp, "xb", encoding=None)
        try:
            try:
                await fh.write(data)
                await fh.chmod(mode)  # the server's umask applied at open; set the mode exactly
                await _fsync(fh)
            finally:
                await fh.close()
            await host.sftp.posix_rename(tmp, real)
        except BaseException:
            try:
                await host.sftp.remove(tmp)
            except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                pass
            raise


async def _fsync(fh: Any) -> None:
    import asyncssh

    try:
        await fh.fsync()
    except asyncssh.SFTPOpUnsupported:
        pass  # a server without fsync@openssh.com: the rename is still atomic


async def _makedirs(host: RemoteHost, path: str) -> None:
    """`os.makedirs(path, exist_ok=True)`, errors included, trying the deepest mkdir first (one
    round trip in the usual case of a single new directory)."""
    import asyncssh

    try:
        await host.sftp.mkdir(path)
        return
    except asyncssh.SFTPNoSuchFile:
        head = posixpath.dirname(path)
        if head == path:
            raise
        head_attrs = await try_stat(host, head)
        if head_attrs is None:
            await _makedirs(host, head)
        elif not stat_mod.S_ISDIR(head_attrs.permissions or 0):
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory") from None
        else:
            raise
    except asyncssh.SFTPError:
        await _must_be_dir(host, path)  # it exists (perhaps created concurrently)
        return
    try:
        await host.sftp.mkdir(path)
    except asyncssh.SFTPError:
        await _must_be_dir(host, path)


async def _must_be_dir(host: RemoteHost, path: str) -> None:
    """After a failed mkdir: fine if `path` is a directory; else the error os.makedirs gives."""
    attrs = await try_stat(host, path)
    if attrs is None:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")
    if not stat_mod.S_ISDIR(attrs.permissions or 0):
        raise FileExistsError(errno.EEXIST, "File exists")


def _writable(host: RemoteHost, attrs: Any) -> bool:
    """access(W_OK) for the remote user, from the file's owner, group and mode bits."""
    if host.uid == 0:
        return True
    mode = attrs.permissions or 0
    if attrs.uid == host.uid:
        return bool(mode & 0o200)
    if attrs.gid in host.gids:
        return bool(mode & 0o020)
    return bool(mode & 0o002)


async def list_dir(host: RemoteHost, shown: str, real: str) -> list[FileStat]:
    import asyncio

    with sftp_errors(shown, host.where):
        attrs = await try_stat(host, real)
        if attrs is None:
            raise NotFound(f"{shown}: no such file or directory")
        if not stat_mod.S_ISDIR(attrs.permissions or 0):
            raise EnvironmentError_(f"{shown}: not a directory")
        names = [n for n in await host.sftp.readdir(real) if n.filename not in (".", "..")]
        entries = await asyncio.gather(*(_entry_stat(host, posixpath.join(real, n.filename), n.attrs) for n in names))
    return sorted(entries, key=lambda s: posixpath.basename(s.path))


async def _entry_stat(host: RemoteHost, path: str, attrs: Any) -> FileStat:
    """As `LocalEnvironment._entry_stat`: a symlink inside the workspace is described by its
    target, one pointing out only by the link itself."""
    import asyncssh

    if not stat_mod.S_ISLNK(attrs.permissions or 0):
        return file_stat(path, attrs)
    try:
        target = await remote_realpath(host.sftp, path)
        if not is_within(host.root, target):
            # Say nothing about what lies outside: describe the link itself.
            return FileStat(path, False, False, 0, stat_mod.S_IMODE(attrs.permissions or 0), float(attrs.mtime or 0))
        followed = await host.sftp.stat(path)
    except asyncssh.SFTPError:
        return file_stat(path, attrs)
    return file_stat(path, followed)
