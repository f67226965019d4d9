"""`walk_files` over SFTP: the same walk as `LocalEnvironment._walk`, concurrent.

Directories are listed with SFTP `readdir`, whose attributes come from `lstat`, so symlinks are
seen as links and never followed. Every directory is a task: it lists itself, reads its own
.gitignore (when it has one) and starts its subdirectories, so a deep tree costs round trips per
level, not per directory. Ignored directories are pruned (never listed), exactly as locally;
`git ls-files` is not used because it differs (untracked-but-not-ignored files, nested
repositories, `core.excludesFile`).
"""

from __future__ import annotations

import asyncio
import posixpath
import stat as stat_mod
from typing import Any

from kode.runtime.paths import GIT_DIR, GITIGNORE, IgnoreRules, ancestors, is_within, path_sort_key
from kode.runtime.ssh_files import RemoteHost, try_stat
from kode.runtime.ssh_paths import remote_realpath, sftp_errors

_CONCURRENT_DIRS = 16
"""Directories listed at once: enough to keep a distant server busy, few enough to stay polite."""


async def walk_files(host: RemoteHost, shown: str, real: str, start: str, include_ignored: bool) -> list[str]:
    """Workspace-relative paths of the files below canonical `real` (workspace-relative `start`)."""
    with sftp_errors(shown, host.where):
        attrs = await try_stat(host, real)
    if attrs is None or not stat_mod.S_ISDIR(attrs.permissions or 0):
        return [start]
    rules = IgnoreRules() if include_ignored else await _rules_for(host, start)
    walker = _Walker(host, include_ignored)
    with sftp_errors(shown, host.where):
        try:
            async with asyncio.TaskGroup() as group:
                walker.group = group
                group.create_task(walker.visit(real, start, rules, is_start=True))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
    walker.found.sort(key=path_sort_key)
    return walker.found


class _Walker:
    def __init__(self, host: RemoteHost, include_ignored: bool) -> None:
        self.host = host
        self.include_ignored = include_ignored
        self.found: list[str] = []
        self.limit = asyncio.Semaphore(_CONCURRENT_DIRS)
        self.group: asyncio.TaskGroup | None = None

    async def visit(self, dir_real: str, dir_rel: str, rules: IgnoreRules, *, is_start: bool = False) -> None:
        import asyncssh

        async with self.limit:
            try:
                names = await self.host.sftp.readdir(dir_real)
            except asyncssh.SFTPError as exc:
                if isinstance(exc, asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection):
                    raise
                return  # unreadable, or gone meanwhile: skipped, as local skips it
        by_name = {n.filename: n.attrs for n in names if n.filename not in (".", "..")}
        if not self.include_ignored and not is_start and GITIGNORE in by_name:
            rules = await _with_gitignore(self.host, rules, dir_real, dir_rel, by_name[GITIGNORE])
        for name, attrs in by_name.items():
            if name == GIT_DIR:
                continue
            mode = attrs.permissions or 0
            if stat_mod.S_ISLNK(mode):
                continue  # symlinks are never followed (as ripgrep and git do): no loops, no escapes
            is_dir = stat_mod.S_ISDIR(mode)
            rel = name if dir_rel == "." else f"{dir_rel}/{name}"
            if not self.include_ignored and rules.ignored(rel, is_dir=is_dir):
                continue
            if is_dir:
                assert self.group is not None
                self.group.create_task(self.visit(posixpath.join(dir_real, name), rel, rules))
            elif stat_mod.S_ISREG(mode):
                self.found.append(rel)


async def _rules_for(host: RemoteHost, start: str) -> IgnoreRules:
    """Rules of the .gitignore files from the root down to `start` (inclusive), read
    concurrently. A directory asked for by name is walked even if it is ignored: then only its
    own files apply (as `LocalEnvironment._rules_for`)."""
    rels = list(ancestors(start))
    texts = await asyncio.gather(*(_read_gitignore(host, posixpath.join(host.root, rel) if rel else host.root)
                                   for rel in rels))  # fmt: skip
    rules = IgnoreRules()
    for rel, text in zip(rels, texts):
        if rel and rules.ignored(rel, is_dir=True):
            rules = IgnoreRules()
        if text is not None:
            rules = rules.with_gitignore(rel, text)
    return rules


async def _with_gitignore(host: RemoteHost, rules: IgnoreRules, dir_real: str, dir_rel: str, attrs: Any) -> IgnoreRules:
    text = await _read_gitignore(host, dir_real, attrs)
    return rules if text is None else rules.with_gitignore(dir_rel, text)


async def _read_gitignore(host: RemoteHost, dir_real: str, attrs: Any = None) -> str | None:
    """Text of `dir_real/.gitignore`; None when absent, unreadable, or a link to outside."""
    import asyncssh

    path = posixpath.join(dir_real, GITIGNORE)
    try:
        if attrs is None:
            attrs = await host.sftp.lstat(path)
        mode = attrs.permissions or 0
        if stat_mod.S_ISLNK(mode):
            if not is_within(host.root, await remote_realpath(host.sftp, path)):
                return None  # a .gitignore symlinked from outside is not read
            mode = (await host.sftp.stat(path)).permissions or 0
        if not stat_mod.S_ISREG(mode):
            return None
        async with host.sftp.open(path, "rb", encoding=None) as fh:
            data = await fh.read()
    except asyncssh.SFTPError as exc:
        if isinstance(exc, asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection):
            raise
        return None
    return bytes(data).decode("utf-8", errors="replace")
