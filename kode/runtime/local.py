"""`LocalEnvironment`: the workspace is a directory on this machine.

Every path goes through `confine_local` (see `paths.py`), so a tool can name nothing outside the
workspace. Files are written atomically. Commands run in their own process group (a new
session), so that a timeout or a cancelled task can kill everything they started.

Limits, stated plainly:
- Confinement is checked on the canonical path just before each operation, and files are opened
  with O_NOFOLLOW. A process that races to swap a directory for a symlink between the check and
  the operation is not defended against; that needs `openat`-style walking or a sandbox.
- When a command exits normally, background processes it left running are not killed (so
  `server > log 2>&1 &` works); reading stops once the output pipe has been quiet briefly.
  Timeouts and cancellation kill the whole group. A process that leaves the group (`setsid`,
  daemonising) escapes that kill.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import errno
import os
import shutil
import stat as stat_mod
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

from kode.runtime.environment import (
    EnvironmentError_,
    FileStat,
    NotFound,
    OutputCallback,
    RunResult,
    WorkspaceEscape,
)
from kode.runtime.paths import (
    GIT_DIR,
    GITIGNORE,
    IgnoreRules,
    ancestors,
    confine_local,
    is_within,
    path_sort_key,
    relative_to_root,
)
from kode.runtime.process_group import kill_group, spawn_group

CHILD_ENV_OVERRIDES: dict[str, str] = {
    # Nothing a command starts may wait for a terminal or a human.
    "TERM": "dumb",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "SYSTEMD_PAGER": "",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    "DEBIAN_FRONTEND": "noninteractive",
    "PIP_NO_INPUT": "1",
}

_READ_CHUNK = 64 * 1024
_DRAIN_IDLE = 0.25
"""After the command exits, stop reading once its output pipe has been quiet this long (a
background process it left running may keep the pipe open forever)."""
_DRAIN_MAX = 2.0


def truncation_marker(count: int) -> str:
    return f"\n... [{count} characters truncated] ...\n"


class OutputCap:
    """Keeps the first and last `limit // 2` characters of a stream and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self._head: list[str] = []
        self._head_len = 0
        self._tail: deque[str] = deque()
        self._tail_len = 0
        self.total = 0

    def feed(self, text: str) -> None:
        if not text:
            return
        self.total += len(text)
        if self._head_len < self.limit:
            take = text[: self.limit - self._head_len]
            self._head.append(take)
            self._head_len += len(take)
        self._tail.append(text)
        self._tail_len += len(text)
        while self._tail and self._tail_len - len(self._tail[0]) >= self.limit:
            self._tail_len -= len(self._tail.popleft())

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def text(self) -> str:
        head = "".join(self._head)
        if not self.truncated:
            return head
        head_keep = self.limit // 2
        tail_keep = self.limit - head_keep
        tail = "".join(self._tail)[-tail_keep:] if tail_keep else ""
        return head[:head_keep] + truncation_marker(self.total - head_keep - tail_keep) + tail


class OutputSink:
    """A command's output on its way out: decoded as UTF-8 incrementally (a character split
    across reads stays whole), kept in the cap, and handed to `on_output` as it arrives. The
    local pipe and the SSH channel both pour into one."""

    def __init__(self, cap: OutputCap, on_output: OutputCallback | None) -> None:
        self.cap = cap
        self._on_output = on_output
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    async def feed(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if not text:
            return
        self.cap.feed(text)
        if self._on_output is not None:
            result = self._on_output(text)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await result

    def flush(self) -> None:
        """Decode what is left of a character cut off at the end."""
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self.cap.feed(tail)


class LocalEnvironment:
    """The workspace is `root` on the local disk; commands run as local processes."""

    def __init__(self, root: str | Path, *, kill_grace: float = 1.0) -> None:
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise NotFound(f"workspace root {os.fspath(root)!r} is not a directory")
        self._root = real
        self.kill_grace = kill_grace

    def __repr__(self) -> str:
        return f"LocalEnvironment({self._root!r})"

    @property
    def root(self) -> str:
        return self._root

    @property
    def location(self) -> str:
        return self._root

    async def rooted_at(self, path: str) -> LocalEnvironment:
        """The same kind of environment on another root (a sub-agent's worktree)."""
        return LocalEnvironment(path)

    # -- paths ---------------------------------------------------------------------------------

    def _resolve(self, path: str, *, must_exist: bool = False) -> str:
        real = confine_local(self._root, path)
        if must_exist and not os.path.lexists(real):
            raise NotFound(f"{path}: no such file or directory")
        return real

    async def resolve(self, path: str, *, must_exist: bool = False) -> str:
        return self._resolve(path, must_exist=must_exist)

    def _rel(self, canonical: str) -> str:
        return relative_to_root(self._root, canonical)

    # -- files ---------------------------------------------------------------------------------

    async def stat(self, path: str) -> FileStat | None:
        real = self._resolve(path)
        with _os_errors(path):
            try:
                st = os.stat(real)
            except (FileNotFoundError, NotADirectoryError):
                return None
        return _file_stat(real, st)

    async def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        real = self._resolve(path, must_exist=True)
        return await asyncio.to_thread(self._read, path, real, limit)

    def _read(self, shown: str, real: str, limit: int | None) -> bytes:
        with _os_errors(shown):
            # O_NOFOLLOW: `real` is canonical, so a symlink here means it was swapped in since.
            # O_NONBLOCK: opening a FIFO must not hang; non-regular files are refused below.
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                st = os.fstat(fd)
                if stat_mod.S_ISDIR(st.st_mode):
                    raise EnvironmentError_(f"{shown}: is a directory, not a file")
                if not stat_mod.S_ISREG(st.st_mode):
                    raise EnvironmentError_(f"{shown}: not a regular file")
                os.set_blocking(fd, True)
                chunks: list[bytes] = []
                remaining = limit if limit is not None else -1
                while remaining != 0:
                    chunk = os.read(fd, _READ_CHUNK if remaining < 0 else min(_READ_CHUNK, remaining))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if remaining > 0:
                        remaining -= len(chunk)
                return b"".join(chunks)
            finally:
                os.close(fd)

    async def write_bytes(self, path: str, data: bytes) -> None:
        real = self._resolve(path)
        await asyncio.to_thread(self._write, path, real, data)

    def _write(self, shown: str, real: str, data: bytes) -> None:
        parent = os.path.dirname(real)
        with _os_errors(shown):
            os.makedirs(parent, exist_ok=True)
            # Re-check after creating directories: a parent may have been swapped for a symlink.
            if not is_within(self._root, os.path.realpath(parent)):
                raise WorkspaceEscape(f"Access denied: the directory of {shown!r} left the workspace")
            try:
                st = os.stat(real)
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            else:
                if stat_mod.S_ISDIR(st.st_mode):
                    raise EnvironmentError_(f"{shown}: is a directory; cannot write file content to it")
                if not stat_mod.S_ISREG(st.st_mode):
                    raise EnvironmentError_(f"{shown}: not a regular file; refusing to replace it")
                if not os.access(real, os.W_OK):
                    raise EnvironmentError_(f"{shown}: permission denied (the file is read-only)")
                mode = stat_mod.S_IMODE(st.st_mode)
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".kode-tmp", dir=parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fchmod(fh.fileno(), mode)
                    os.fsync(fh.fileno())
                os.replace(tmp, real)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_dir(parent)

    async def list_dir(self, path: str) -> list[FileStat]:
        real = self._resolve(path, must_exist=True)
        return await asyncio.to_thread(self._list_dir, path, real)

    def _list_dir(self, shown: str, real: str) -> list[FileStat]:
        with _os_errors(shown):
            if not os.path.isdir(real):
                raise EnvironmentError_(f"{shown}: not a directory")
            entries: list[FileStat] = []
            with os.scandir(real) as it:
                for entry in it:
                    entries.append(self._entry_stat(entry))
        entries.sort(key=lambda s: os.path.basename(s.path))
        return entries

    def _entry_stat(self, entry: os.DirEntry[str]) -> FileStat:
        """Stat of a directory entry; a symlink inside the workspace is described by its target,
        one pointing out only by the link itself. `path` is the entry's own path."""
        path = entry.path
        try:
            if entry.is_symlink() and not is_within(self._root, os.path.realpath(entry.path)):
                # Say nothing about what lies outside: describe the link itself.
                st = entry.stat(follow_symlinks=False)
                return FileStat(path, False, False, 0, stat_mod.S_IMODE(st.st_mode), st.st_mtime)
            st = entry.stat(follow_symlinks=True)
        except OSError:
            st = entry.stat(follow_symlinks=False)
        return _file_stat(path, st)

    async def walk_files(self, path: str = ".", *, include_ignored: bool = False) -> list[str]:
        real = self._resolve(path, must_exist=True)
        return await asyncio.to_thread(self._walk, path, real, include_ignored)

    def _walk(self, shown: str, real: str, include_ignored: bool) -> list[str]:
        start = self._rel(real)
        with _os_errors(shown):
            if not os.path.isdir(real):
                return [start]
        rules = IgnoreRules() if include_ignored else self._rules_for(start)
        found: list[str] = []
        stack: list[tuple[str, str, IgnoreRules]] = [(real, start, rules)]
        while stack:
            dir_real, dir_rel, dir_rules = stack.pop()
            if not include_ignored and dir_rel != start:
                dir_rules = self._with_gitignore(dir_rules, dir_real, dir_rel)
            try:
                with os.scandir(dir_real) as it:
                    entries = list(it)
            except OSError:
                continue
            for entry in entries:
                if entry.name == GIT_DIR:
                    continue
                rel = entry.name if dir_rel == "." else f"{dir_rel}/{entry.name}"
                try:
                    # Symlinks are never followed (as ripgrep and git do): no loops, no escapes.
                    if entry.is_symlink():
                        continue
                    is_dir = entry.is_dir(follow_symlinks=False)
                    is_file = entry.is_file(follow_symlinks=False)
                except OSError:
                    continue
                if not include_ignored and dir_rules.ignored(rel, is_dir=is_dir):
                    continue
                if is_dir:
                    stack.append((entry.path, rel, dir_rules))
                elif is_file:
                    found.append(rel)
        found.sort(key=path_sort_key)
        return found

    def _rules_for(self, start: str) -> IgnoreRules:
        """Rules of the .gitignore files from the root down to `start` (inclusive). A directory
        asked for by name is walked even if it is ignored: then only its own files apply."""
        rules = IgnoreRules()
        for rel in ancestors(start):
            if rel and rules.ignored(rel, is_dir=True):
                rules = IgnoreRules()
            rules = self._with_gitignore(rules, os.path.join(self._root, rel), rel)
        return rules

    def _with_gitignore(self, rules: IgnoreRules, dir_real: str, dir_rel: str) -> IgnoreRules:
        path = os.path.join(dir_real, GITIGNORE)
        if not is_within(self._root, os.path.realpath(path)):
            return rules  # a .gitignore symlinked from outside is not read
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return rules
        return rules.with_gitignore(dir_rel, text)

    def which(self, program: str) -> str | None:
        found = shutil.which(program)
        if found:
            return found
        # Tools installed into the interpreter's environment (e.g. the `ripgrep` wheel's `rg`),
        # even when that environment's bin directory is not on PATH.
        sibling = Path(sys.executable).parent / program
        if sibling.is_file() and os.access(sibling, os.X_OK):
            return str(sibling)
        return None

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
        workdir = self._resolve(cwd if cwd is not None else ".", must_exist=True)
        if not os.path.isdir(workdir):
            raise EnvironmentError_(f"working directory {cwd!r} is not a directory")
        cwd_file: str | None = None
        if isinstance(command, str):
            script = command
            if track_cwd:
                fd, cwd_file = tempfile.mkstemp(prefix="kode-cwd-")
                os.close(fd)
                # An EXIT trap runs on normal completion and on `exit N`, keeping the exit status.
                script = f"trap 'pwd -P >| {cwd_file}' EXIT\n{command}"
            argv = [shutil.which("bash") or "/bin/bash", "-c", script]
        else:
            argv = list(command)
            if not argv:
                raise EnvironmentError_("empty command")
        try:
            return await self._run(argv, workdir, timeout, output_limit, on_output, stdin, cwd_file, track_cwd)
        finally:
            if cwd_file is not None:
                with contextlib.suppress(OSError):
                    os.unlink(cwd_file)

    async def _run(
        self,
        argv: list[str],
        workdir: str,
        timeout: float | None,
        output_limit: int,
        on_output: OutputCallback | None,
        stdin: bytes | None,
        cwd_file: str | None,
        track_cwd: bool,
    ) -> RunResult:
        read_fd, write_fd = os.pipe()
        try:
            proc = await spawn_group(
                argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                cwd=workdir,
                env={**os.environ, **CHILD_ENV_OVERRIDES},
            )
        except OSError as exc:
            os.close(read_fd)
            raise EnvironmentError_(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        finally:
            os.close(write_fd)

        pipe = os.fdopen(read_fd, "rb", buffering=0)
        try:
            reader = asyncio.StreamReader(limit=2**20)
            transport, _ = await asyncio.get_running_loop().connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), pipe
            )
        except BaseException:
            pipe.close()
            await kill_group(proc, 0)
            raise
        cap = OutputCap(output_limit)
        pump = _Pump(reader, cap, on_output)
        read_task = asyncio.create_task(pump.run())
        wait_task = asyncio.create_task(proc.wait())
        stdin_task = asyncio.create_task(_feed_stdin(proc, stdin)) if stdin is not None else None
        timed_out = False
        try:
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.wait({wait_task, read_task}, return_when=asyncio.FIRST_COMPLETED)
                    if read_task.done():
                        read_task.result()  # an exception from on_output ends the run
                    await wait_task
                    await pump.drain(read_task)
            except TimeoutError:
                timed_out = True
                await kill_group(proc, self.kill_grace)
                await pump.drain(read_task)
        except BaseException:
            # Cancellation (or a failing on_output): nothing the command started survives.
            await kill_group(proc, self.kill_grace)
            raise
        finally:
            tasks = [t for t in (read_task, wait_task, stdin_task) if t is not None]
            for task in tasks:
                task.cancel()
            transport.close()
            await asyncio.gather(*tasks, return_exceptions=True)
        pump.flush()

        cwd_after: str | None = None
        if track_cwd:
            cwd_after = workdir if cwd_file is None else _read_cwd_file(cwd_file)
        return RunResult(
            exit_code=None if timed_out else proc.returncode,
            output=cap.text(),
            truncated=cap.truncated,
            timed_out=timed_out,
            cwd_after=cwd_after,
        )


class _Pump:
    """Reads the command's output pipe into the sink."""

    def __init__(self, reader: asyncio.StreamReader, cap: OutputCap, on_output: OutputCallback | None) -> None:
        self._reader = reader
        self._sink = OutputSink(cap, on_output)
        self.last_data = time.monotonic()

    async def run(self) -> None:
        while True:
            chunk = await self._reader.read(_READ_CHUNK)
            if not chunk:
                return
            self.last_data = time.monotonic()
            await self._sink.feed(chunk)

    async def drain(self, read_task: asyncio.Task[None]) -> None:
        """Let the reader reach end-of-file; give up once the pipe stays quiet (a background
        process holds it open) or after `_DRAIN_MAX` seconds."""
        deadline = time.monotonic() + _DRAIN_MAX
        while not read_task.done():
            now = time.monotonic()
            if now >= deadline or now - self.last_data >= _DRAIN_IDLE:
                read_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await read_task
                return
            await asyncio.wait({read_task}, timeout=min(0.05, deadline - now))
        read_task.result()

    def flush(self) -> None:
        self._sink.flush()


async def _feed_stdin(proc: asyncio.subprocess.Process, data: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(Exception):
            proc.stdin.close()


def _read_cwd_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read().rstrip("\n")
    except OSError:
        return None
    return text or None


def _file_stat(path: str, st: os.stat_result) -> FileStat:
    return FileStat(
        path=path,
        is_dir=stat_mod.S_ISDIR(st.st_mode),
        is_file=stat_mod.S_ISREG(st.st_mode),
        size=st.st_size,
        mode=stat_mod.S_IMODE(st.st_mode),
        mtime=st.st_mtime,
    )


@contextlib.contextmanager
def _os_errors(shown: str) -> Iterator[None]:
    """Turn OS errors into Environment errors whose message names the path the caller gave."""
    try:
        yield
    except EnvironmentError_:
        raise
    except FileNotFoundError:
        raise NotFound(f"{shown}: no such file or directory") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EnvironmentError_(f"{shown}: too many levels of symbolic links (or a link was swapped in)") from None
        raise EnvironmentError_(f"{shown}: {exc.strerror or exc}") from None


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
