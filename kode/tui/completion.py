"""Completion for the prompt: which token is being completed, and fuzzy matching of paths.

Plain Python: the prompt widget asks `completion_target(text, cursor)` what to complete, and
`fuzzy_paths(query, paths)` for the best workspace paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", ".tox", "dist", "build", ".idea", ".cache", "target", ".next"}
)
MAX_PATHS = 50_000


@dataclass(frozen=True, slots=True)
class Target:
    kind: str
    """"slash" (a command name at the start of the prompt) or "path" (an @reference)."""
    query: str
    start: int
    """Offset in the text where the token (including its "/" or "@") begins."""
    end: int


def completion_target(text: str, cursor: int) -> Target | None:
    """What the token ending at `cursor` asks to complete, if anything."""
    before = text[:cursor]
    if before.startswith("/") and " " not in before and "\n" not in before:
        return Target("slash", before[1:], 0, cursor)
    start = max(before.rfind(" "), before.rfind("\n"), before.rfind("\t")) + 1
    token = before[start:]
    if token.startswith("@"):
        return Target("path", token[1:], start, cursor)
    return None


def list_workspace(root: Path, *, limit: int = MAX_PATHS) -> list[str]:
    """Workspace-relative paths (directories end in "/"), skipping VCS and build folders."""
    found: list[str] = []
    stack = [root]
    while stack and len(found) < limit:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            rel = os.path.relpath(entry.path, root)
            if is_dir:
                if entry.name in SKIP_DIRS:
                    continue
                found.append(rel + "/")
                stack.append(Path(entry.path))
            else:
                found.append(rel)
    return found


def fuzzy_score(query: str, candidate: str) -> float | None:
    """How well `query`'s characters, in order, match `candidate`; None when they don't all.

    Rewards runs of consecutive characters, matches at the start of a path segment or word, and
    matches in the file name; shorter candidates win ties.
    """
    if not query:
        return 1.0 / (1 + len(candidate))
    q, c = query.lower(), candidate.lower()
    name_start = c.rstrip("/").rfind("/") + 1
    score = 0.0
    position = 0
    previous = -2
    for char in q:
        index = c.find(char, position)
        if index < 0:
            return None
        bonus = 1.0
        if index == previous + 1:
            bonus += 2.0
        if index == 0 or c[index - 1] in "/_-. ":
            bonus += 1.5
        if index >= name_start:
            bonus += 0.5
        score += bonus
        previous, position = index, index + 1
    if q in c[name_start:]:
        score += 3.0
    return score - 0.01 * len(candidate)


def fuzzy_paths(query: str, paths: Iterable[str], *, limit: int = 12) -> list[str]:
    scored = [(s, p) for p in paths if (s := fuzzy_score(query, p)) is not None]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [path for _, path in scored[:limit]]
