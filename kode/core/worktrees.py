"""Git worktrees for sub-agents that write files.

A child that may write works in its own worktree on its own branch (`kode/<child_id>`), so
children never trip over each other or the parent. When it ends, the parent takes its diff;
applying that diff to the workspace goes through the normal permission flow (the caller's job)
and a conflict is reported, never resolved silently: `apply_diff` either applies every hunk or
touches nothing.

The worktree starts from a snapshot of the workspace exactly as it is, uncommitted edits and
untracked (non-ignored) files included: the working tree is staged into a temporary index (the
real index is never touched) and committed with `commit-tree` when it differs from HEAD. That
one commit is the base the child's diff is taken against, so the diff applies to the dirty
workspace it came from. Ignored files (virtualenvs, node_modules, build output) are not copied.

Every git command goes through `env.run`, so the same code serves a remote (SSH) workspace.
Worktrees live under `<git-common-dir>/kode-worktrees/<child_id>` by default: inside `.git`, so
they are ignored by git, ripgrep and `walk_files`, and on the same filesystem as the repo.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import posixpath
import re
import socket
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from shlex import quote

from kode.core.worktrees_check import (
    NO_CHECK_MESSAGE,
    Candidate,
    CheckResult,
    DiffStat,
    detect_check_command,
    rank,
    run_check,
)
from kode.runtime.environment import Environment, EnvironmentError_, RunResult

__all__ = [
    "NO_CHECK_MESSAGE",
    "ApplyResult",
    "Candidate",
    "CheckResult",
    "DiffStat",
    "Worktree",
    "WorktreeError",
    "apply_diff",
    "cleanup_stale",
    "detect_check_command",
    "diff_paths",
    "diff_stat",
    "open_worktree",
    "rank",
    "remove_worktree",
    "run_check",
    "worktree_diff",
]

BRANCH_PREFIX = "kode/"
WORKTREES_DIR = "kode-worktrees"
MAX_DIFF_BYTES = 64 * 1024 * 1024
_GIT_TIMEOUT = 300.0
_ADD_ATTEMPTS = 3
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
_OWNER = re.compile(r"kode sub-agent pid=(?P<pid>\d+) host=(?P<host>\S+)")
_CHILD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_SNAPSHOT_IDENTITY = ("-c", "user.name=kode", "-c", "user.email=kode@localhost", "-c", "commit.gpgSign=false")
"""The snapshot commit is kode's own bookkeeping; it must not need (or sign with) the user's identity."""
_DIFF_OPTIONS = (
    "diff", "--cached", "--binary", "--full-index", "--no-color", "--no-ext-diff", "--no-textconv",
    "--no-renames", "--submodule=short", "--src-prefix=a/", "--dst-prefix=b/",
)  # fmt: skip
"""Pinned so no user setting (noprefix, external diff, textconv, colour) can make the patch
unappliable; renames are written as delete + add, which `git apply` handles and is simpler to read."""


class WorktreeError(Exception):
    """A worktree could not be opened, diffed or removed; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Worktree:
    """A child's git worktree."""

    child_id: str
    path: str
    """Absolute path of the worktree's top directory."""
    branch: str
    """`kode/<child_id>`, checked out in the worktree."""
    base: str
    """The commit the worktree started from: a snapshot of the workspace as it was."""
    repo: str = ""
    """Absolute path of the main working tree's top directory."""
    prefix: str = ""
    """The workspace's directory inside the repo ('' when the workspace is the repo's top)."""

    @property
    def workdir(self) -> str:
        """Where the child works: the worktree's copy of the workspace directory."""
        return posixpath.join(self.path, self.prefix).rstrip("/") if self.prefix else self.path

    @property
    def workspace_root(self) -> str:
        """The parent's workspace directory this worktree mirrors."""
        return posixpath.join(self.repo, self.prefix).rstrip("/") if self.prefix else self.repo


@dataclass(frozen=True, slots=True)
class ApplyResult:
    ok: bool
    conflicts: list[str] = field(default_factory=list)
    """Repo-relative paths of the files whose changes did not apply (when not ok)."""
    message: str = ""
    """One line for the user."""


# -- running git -----------------------------------------------------------------------------


async def _run(
    env: Environment, command: str | Sequence[str], *, stdin: bytes | None = None, limit: int = 200_000
) -> RunResult:
    try:
        return await env.run(command, timeout=_GIT_TIMEOUT, output_limit=limit, stdin=stdin)
    except EnvironmentError_ as exc:
        raise WorktreeError(f"cannot run git in the workspace: {exc}") from None


def _why(result: RunResult) -> str:
    """The line of git's output that says what went wrong."""
    if result.timed_out:
        return f"git took longer than {_GIT_TIMEOUT:g} s"
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit code {result.exit_code}"


async def _git(env: Environment, *args: str, stdin: bytes | None = None, what: str) -> str:
    result = await _run(env, ["git", *args], stdin=stdin)
    if result.exit_code != 0:
        raise WorktreeError(f"{what} failed: {_why(result)}")
    return result.output


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- opening ---------------------------------------------------------------------------------

_SNAPSHOT_SCRIPT = r"""
set -eu
top=$(git rev-parse --show-toplevel)
prefix=$(git rev-parse --show-prefix)
common=$(cd "$(git rev-parse --git-common-dir)" && pwd -P)
gitdir=$(git rev-parse --absolute-git-dir)
head=$(git rev-parse -q --verify 'HEAD^{commit}' || true)
htree=$(git rev-parse -q --verify 'HEAD^{tree}' || true)
cd "$top"
idx="$gitdir/kode-index-$$-$RANDOM"
trap 'rm -f "$idx" "$idx.lock"' EXIT
trap 'exit 143' HUP INT TERM
real=$(git rev-parse --git-path index)
if [ -f "$real" ]; then cp "$real" "$idx"; fi
GIT_INDEX_FILE="$idx" git add -A
tree=$(GIT_INDEX_FILE="$idx" git write-tree)
printf '\n@kode@%s\t%s\t%s\t%s\t%s\t%s\n' "$top" "$prefix" "$common" "$head" "$htree" "$tree"
"""
"""Stages the whole working tree (tracked edits, deletions, untracked non-ignored files) into a
throw-away copy of the index and prints the resulting tree with the repo's layout."""


async def _require_repo(env: Environment) -> None:
    result = await _run(env, ["git", "rev-parse", "--is-inside-work-tree"])
    if result.exit_code == 0 and _last_line(result.output) == "true":
        return
    if result.exit_code == 127 or "command not found" in result.output or "No such file" in result.output:
        raise WorktreeError(
            "a sub-agent worktree needs git, which is not installed where the workspace is; install git"
        )
    raise WorktreeError(
        f"a sub-agent worktree needs a git repository, and {env.root} is not in one; "
        "run `git init` there (or run the sub-agent without a worktree)"
    )


async def open_worktree(env: Environment, *, child_id: str, base_dir: str | None = None) -> Worktree:
    """Create a worktree on branch `kode/<child_id>` holding exactly the workspace's current files.

    `base_dir` (absolute, outside the working tree) replaces the default parent directory
    `<git-common-dir>/kode-worktrees`. Submodules are not checked out in the worktree.
    """
    if not _CHILD_ID.fullmatch(child_id):
        raise WorktreeError(
            f"child id {child_id!r} cannot name a branch and a directory; use letters, digits, '-' and '_'"
        )
    if base_dir is not None and not posixpath.isabs(base_dir):
        raise WorktreeError(f"base_dir {base_dir!r} must be an absolute path outside the working tree")
    await _require_repo(env)
    result = await _run(env, _SNAPSHOT_SCRIPT)
    marker = result.output.rfind("\n@kode@")
    if result.exit_code != 0 or marker < 0:
        raise WorktreeError(f"snapshotting the workspace for a sub-agent failed: {_why(result)}")
    top, prefix, common, head, head_tree, tree = result.output[marker + 7 :].rstrip("\n").split("\t")
    if head and tree == head_tree:
        base = head
    else:
        parents = ["-p", head] if head else []
        message = f"kode: snapshot of the workspace for sub-agent {child_id}"
        out = await _git(env, *_SNAPSHOT_IDENTITY, "commit-tree", tree, *parents, "-m", message, what="snapshot commit")
        base = _last_line(out)
    if not _OBJECT_ID.fullmatch(base):
        raise WorktreeError(f"snapshotting the workspace gave no commit id (got {base[:80]!r})")

    parent = base_dir.rstrip("/") if base_dir else posixpath.join(common, WORKTREES_DIR)
    path = posixpath.join(parent, child_id)
    wt = Worktree(child_id, path, BRANCH_PREFIX + child_id, base, repo=top, prefix=prefix)
    taken = await _run(
        env,
        f"[ -e {quote(path)} ] && echo taken:dir; "
        f"git rev-parse -q --verify {quote('refs/heads/' + wt.branch)} >/dev/null && echo taken:branch; true",
    )
    if "taken:" in taken.output:
        what = "directory " + path if "taken:dir" in taken.output else "branch " + wt.branch
        raise WorktreeError(
            f"the {what} for sub-agent {child_id!r} already exists; "
            "use a new child id, or run cleanup_stale if it is a crashed child's"
        )
    # `git worktree add` reads every other worktree's admin directory and fails on one that is
    # half-made, so registering is serialised (and retried, for other processes); the checkout,
    # the slow part, runs outside the lock.
    for attempt in range(_ADD_ATTEMPTS):
        async with _metadata_lock():
            add = await _run(env, ["git", "worktree", "add", "--no-checkout", "-b", wt.branch, path, base])
            if add.exit_code == 0:
                # Locked with this process as owner: `git worktree prune` keeps it, and another
                # session's `cleanup_stale` leaves it alone while this process lives.
                await _run(env, ["git", "worktree", "lock", "--reason", _owner(), path])
                break
            await _remove(env, wt)  # whatever half of it was made is ours
        if attempt + 1 == _ADD_ATTEMPTS:
            raise WorktreeError(f"creating the sub-agent's worktree failed: {_why(add)}")
        await asyncio.sleep(0.1 * (attempt + 1))
    try:
        checkout = await _run(env, ["git", "-C", path, "reset", "--hard", "-q"])
        if checkout.exit_code != 0:
            raise WorktreeError(f"checking out the sub-agent's worktree failed: {_why(checkout)}")
    except BaseException:  # a failure or a cancellation: leave nothing half-made behind
        with contextlib.suppress(Exception):
            await remove_worktree(env, wt)
        raise
    return wt


def _metadata_lock() -> asyncio.Lock:
    """This event loop's lock for changes to the worktree list (one per loop: locks bind to one)."""
    return _LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())


# -- diffs -----------------------------------------------------------------------------------


async def worktree_diff(env: Environment, wt: Worktree) -> str:
    """The child's changes against its base, as a binary-safe patch for `git apply`.

    Includes new, deleted, mode-changed and binary files, and anything the child committed.
    Only the workspace's directory of the repo is included. Bytes that are not UTF-8 (a latin-1
    source file) are carried as surrogate escapes, so the text round-trips exactly through
    `apply_diff`; to show it, decode `diff.encode("utf-8", "surrogateescape")` with
    errors="replace".
    """
    await _git(env, "-C", wt.path, "add", "-A", what="staging the sub-agent's changes")
    pathspec = ["--", f":(top,literal){wt.prefix}"] if wt.prefix else []
    argv = ["git", "-C", wt.path, *_DIFF_OPTIONS, wt.base, *pathspec]
    # Output comes back as text; base64 keeps non-UTF-8 bytes intact on the way.
    script = f"set -o pipefail\n{' '.join(quote(a) for a in argv)} 2>/dev/null | base64"
    result = await _run(env, script, limit=MAX_DIFF_BYTES * 4 // 3 + 4096)
    if result.exit_code != 0:
        plain = await _run(env, argv, limit=4000)
        raise WorktreeError(f"diffing the sub-agent's worktree failed: {_why(plain)}")
    if result.truncated:
        raise WorktreeError(
            f"the sub-agent's diff is larger than {MAX_DIFF_BYTES // 2**20} MB; inspect {wt.path} by hand"
        )
    return base64.b64decode("".join(result.output.split())).decode("utf-8", "surrogateescape")


def diff_stat(diff: str) -> DiffStat:
    """(files, added lines, removed lines) of a git patch; binary files count as files only."""
    files = added = removed = 0
    in_hunk = False
    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            files += 1
            in_hunk = False
        elif line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1
    return DiffStat(files, added, removed)


def diff_paths(diff: str) -> list[str]:
    """Repo-relative paths of the files a git patch (without renames) touches, in order."""
    paths: list[str] = []
    for line in diff.split("\n"):
        if not line.startswith("diff --git "):
            continue
        rest = line[len("diff --git ") :]
        if rest.startswith('"'):
            path, _ = _unquote_c(rest)
            paths.append(path.removeprefix("a/"))
        else:  # "a/P b/P": the same P twice
            paths.append(rest[2 : 2 + (len(rest) - 5) // 2])
    return paths


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote_c(text: str) -> tuple[str, str]:
    """Git's C-style quoted path at the start of `text` → (path, rest after the closing quote)."""
    out = bytearray()
    i = 1
    while i < len(text) and text[i] != '"':
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in "0123" and re.fullmatch(r"[0-7]{3}", text[i + 1 : i + 4]):
                out.append(int(text[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt) if ord(nxt) < 128 else 63))
            i += 2
            continue
        out += ch.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape"), text[i + 1 :]


async def apply_diff(env: Environment, diff: str) -> ApplyResult:
    """Apply a `worktree_diff` to the workspace: every hunk, or nothing.

    `git apply --check` runs first; if any hunk does not apply (the workspace changed the same
    lines, a new file already exists, a deleted file is gone) nothing is touched and the files
    are listed. There is no 3-way merge, so no conflict markers are ever written.
    """
    if not diff.strip():
        return ApplyResult(ok=True, message="the sub-agent changed nothing")
    await _require_repo(env)
    top = _last_line(await _git(env, "rev-parse", "--show-toplevel", what="finding the repository"))
    data = diff.encode("utf-8", "surrogateescape")
    args = ["git", "-C", top, "-c", "core.quotePath=false", "apply", "--whitespace=nowarn"]
    check = await _run(env, [*args, "--check"], stdin=data)
    if check.exit_code != 0:
        paths = diff_paths(diff)
        conflicts = [p for p in dict.fromkeys(paths) if f" {p}:" in check.output]
        if conflicts:
            shown = ", ".join(conflicts[:5]) + (f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
            message = (
                f"the sub-agent's changes conflict with the workspace in {shown}; "
                "nothing was applied — review the diff and apply it by hand"
            )
        else:
            message = f"the sub-agent's changes do not apply ({_why(check)}); nothing was applied"
        return ApplyResult(ok=False, conflicts=conflicts, message=message)
    applied = await _run(env, args, stdin=data)
    if applied.exit_code != 0:
        return ApplyResult(ok=False, message=f"applying the sub-agent's changes failed: {_why(applied)}")
    stat = diff_stat(diff)
    return ApplyResult(ok=True, message=f"applied {stat.files} file(s): +{stat.added} -{stat.removed} lines")


# -- removing --------------------------------------------------------------------------------


async def remove_worktree(env: Environment, wt: Worktree) -> None:
    """Remove the worktree's directory, its registration and its branch. Safe to repeat."""
    async with _metadata_lock():
        await _remove(env, wt)


async def _remove(env: Environment, wt: Worktree) -> None:
    if posixpath.basename(wt.path.rstrip("/")) != wt.child_id or wt.path.rstrip("/") in ("", wt.repo):
        raise WorktreeError(f"refusing to remove {wt.path!r}: it is not a sub-agent worktree")
    await _run(env, ["git", "worktree", "unlock", wt.path])  # else prune keeps a deleted one
    await _run(env, ["git", "worktree", "remove", "--force", "--force", wt.path])
    # A directory git no longer knows (a crash mid-add, a failed remove) is deleted by hand.
    await _run(env, f"if [ -e {quote(wt.path)} ]; then rm -rf -- {quote(wt.path)}; fi")
    await _run(env, ["git", "worktree", "prune"])
    ref = f"refs/heads/{wt.branch}"
    exists = await _run(env, ["git", "rev-parse", "-q", "--verify", ref])
    if exists.exit_code == 0:
        await _git(env, "branch", "-D", wt.branch, what=f"deleting branch {wt.branch}")
    check = await _run(env, f"[ ! -e {quote(wt.path)} ] || echo left:dir")
    if "left:dir" in check.output:
        raise WorktreeError(f"could not delete the sub-agent worktree {wt.path}; delete it by hand")


async def cleanup_stale(env: Environment, *, keep: Collection[str] = ()) -> list[str]:
    """Remove the `kode/*` worktrees, branches and stray directories that crashed children left.

    A worktree is kept when its child id is in `keep` (this process's live children), or when
    its lock says it belongs to another kode process that is still running (another session
    in the same repo) or to a process on another host, which cannot be checked from here.
    Branches named `kode/…` are treated as kode's own. Returns the child ids removed.
    """
    await _require_repo(env)
    async with _metadata_lock():
        return await _cleanup(env, keep)


async def _cleanup(env: Environment, keep: Collection[str]) -> list[str]:
    listing = await _git(env, "worktree", "list", "--porcelain", what="listing worktrees")
    found: dict[str, Worktree] = {}
    owned_elsewhere: set[str] = set()
    repo = ""
    for block in listing.split("\n\n"):
        fields = dict(line.partition(" ")[::2] for line in block.splitlines() if line)
        path, branch = fields.get("worktree", ""), fields.get("branch", "").removeprefix("refs/heads/")
        repo = repo or path  # the main working tree comes first
        if branch.startswith(BRANCH_PREFIX):
            child = branch[len(BRANCH_PREFIX) :]
            found[child] = Worktree(child, path, branch, "", repo=repo)
            if "locked" in fields and not _owner_gone(fields["locked"]):
                owned_elsewhere.add(child)
    refs = await _git(
        env, "for-each-ref", "--format=%(refname:lstrip=2)", f"refs/heads/{BRANCH_PREFIX}", what="listing branches"
    )
    common = await _run(env, 'cd "$(git rev-parse --git-common-dir)" && pwd -P')
    if common.exit_code != 0:
        raise WorktreeError(f"finding the repository's git directory failed: {_why(common)}")
    parent = posixpath.join(_last_line(common.output), WORKTREES_DIR)
    strays = await _run(env, f"[ -d {quote(parent)} ] && ls -1A -- {quote(parent)} || true")
    for name in refs.splitlines() + strays.output.splitlines():
        child = name.strip().removeprefix(BRANCH_PREFIX)
        if child and child not in found:
            found[child] = Worktree(child, posixpath.join(parent, child), BRANCH_PREFIX + child, "", repo=repo)
    removed = []
    for child, wt in sorted(found.items()):
        if child in keep or child in owned_elsewhere or not _CHILD_ID.fullmatch(child):
            continue
        try:
            await _remove(env, wt)
        except WorktreeError:
            continue  # not ours to delete (moved by hand) or stuck: leave it for a person
        removed.append(child)
    return removed


def _owner() -> str:
    """The lock reason naming this process, so another session's cleanup leaves our children be."""
    return f"kode sub-agent pid={os.getpid()} host={socket.gethostname()}"


def _owner_gone(reason: str) -> bool:
    """Whether a worktree lock's owner is this process or a dead process on this host."""
    match = _OWNER.search(reason)
    if match is None:
        return False  # locked by someone else (or an old git hiding the reason): not ours to judge
    pid, host = int(match["pid"]), match["host"]
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return True  # ours: the caller's `keep` names the live ones
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, owned by another user
    return False
