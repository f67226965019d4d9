"""The git branch of a directory, read from `.git/HEAD` (no git process, no gitpython)."""

from __future__ import annotations

from pathlib import Path


def _git_dir(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            try:
                line = dot_git.read_text(encoding="utf-8").strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                target = Path(line.split(":", 1)[1].strip())
                return target if target.is_absolute() else (directory / target).resolve()
            return None
    return None


def git_branch(cwd: Path) -> str | None:
    """The checked-out branch, a short commit id when detached, or None outside a repository."""
    git_dir = _git_dir(cwd.resolve())
    if git_dir is None:
        return None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if head.startswith("ref:"):
        ref = head.split(":", 1)[1].strip()
        return ref.removeprefix("refs/heads/")
    return head[:8] or None
