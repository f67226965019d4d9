"""Path rules every Environment shares: confinement to the workspace and .gitignore matching.

Confinement is a security boundary. A path is checked in two steps: `check_path_syntax` rejects
what can never be a workspace path (empty, NUL bytes, `~`), then `confine_local` resolves it
canonically (every symlink of the path and of its parents followed, `..` applied after the
symlinks, as the kernel would) and compares the result with the root *component by component*,
so `/ws-evil` is not inside `/ws`.

`IgnoreRules` is pure: it knows nothing of a file system. An Environment (or a tool walking one
through an Environment) feeds it the text of each `.gitignore` it meets, and asks it whether a
workspace-relative path is ignored. Nested files apply relative to their own directory and a
deeper file overrides a shallower one, as in git.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from pathspec import GitIgnoreSpec

from kode.runtime.environment import WorkspaceEscape

GIT_DIR = ".git"
GITIGNORE = ".gitignore"


def check_path_syntax(path: str) -> str:
    """Reject inputs that can never name a workspace path; return the path unchanged otherwise."""
    if not isinstance(path, str):
        path = os.fspath(path)
    if path == "" or path.strip() == "":
        raise WorkspaceEscape("Empty path; give a path relative to the workspace root, e.g. 'src/main.py' or '.'")
    if "\x00" in path:
        raise WorkspaceEscape(f"Path {path!r} contains a NUL byte, so it cannot name a file in the workspace")
    if path.startswith("~"):
        raise WorkspaceEscape(
            f"Path {path!r} refers to a home directory (~), which is outside the workspace; "
            "use a path relative to the workspace root"
        )
    return path


def is_within(root: str, path: str) -> bool:
    """True when canonical `path` is `root` or below it, comparing whole path components."""
    if path == root:
        return True
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path.startswith(prefix)


def confine_local(root: str, path: str) -> str:
    """Canonical absolute path of `path` on this machine, or `WorkspaceEscape` if it leaves `root`.

    `root` must already be canonical. For a path that does not exist yet, the deepest existing
    parent is resolved and the rest appended (`os.path.realpath` in non-strict mode).
    """
    check_path_syntax(path)
    joined = path if os.path.isabs(path) else os.path.join(root, path)
    real = os.path.realpath(joined)
    if is_within(root, real):
        return real
    lexical = os.path.normpath(joined)
    if is_within(root, lexical):
        how = f"resolves through a symbolic link to {real}"
    else:
        how = f"points to {real}"
    raise WorkspaceEscape(
        f"Access denied: {path!r} {how}, which is outside the workspace ({root}); "
        "only paths inside the workspace can be used"
    )


def relative_to_root(root: str, canonical: str) -> str:
    """Workspace-relative form of a canonical path inside `root` ('.' for the root itself)."""
    if canonical == root:
        return "."
    return posixpath.relpath(canonical, root)


def path_sort_key(rel: str) -> tuple[str, ...]:
    """Sort paths the way a directory walk visits them (ripgrep's `--sort path`): by component."""
    return tuple(rel.split("/"))


@dataclass(frozen=True, slots=True)
class _Layer:
    base: str
    """Workspace-relative directory of the .gitignore ('' for the root)."""
    spec: GitIgnoreSpec


class IgnoreRules:
    """The .gitignore files that apply at one point of a walk, shallowest first. Immutable."""

    __slots__ = ("_layers",)

    def __init__(self, layers: tuple[_Layer, ...] = ()) -> None:
        self._layers = layers

    def with_gitignore(self, base: str, text: str) -> IgnoreRules:
        """Rules for directory `base` (workspace-relative, '' or '.' for the root) after reading
        its .gitignore `text`."""
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if not lines:
            return self
        base = "" if base in ("", ".") else base.strip("/")
        return IgnoreRules((*self._layers, _Layer(base, GitIgnoreSpec.from_lines(lines))))

    def ignored(self, rel: str, *, is_dir: bool) -> bool:
        """Whether workspace-relative `rel` is ignored. The deepest .gitignore with an opinion wins,
        and within one file the last matching pattern wins (negations re-include)."""
        if is_git_dir_path(rel):
            return True
        for layer in reversed(self._layers):
            if layer.base:
                if not rel.startswith(layer.base + "/"):
                    continue
                sub = rel[len(layer.base) + 1 :]
            else:
                sub = rel
            result = layer.spec.check_file(sub + "/" if is_dir else sub)
            if result.include is not None:
                return bool(result.include)
        return False

    def __bool__(self) -> bool:
        return bool(self._layers)


def is_git_dir_path(rel: str) -> bool:
    """True for `.git` itself or anything below a `.git` component."""
    return GIT_DIR in rel.split("/")


def ancestors(rel: str) -> Iterable[str]:
    """'' (the root), then every directory from the top down to `rel` inclusive ('a', 'a/b', ...)."""
    yield ""
    if rel in ("", "."):
        return
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        yield "/".join(parts[:i])
