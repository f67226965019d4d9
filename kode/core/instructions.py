"""Project instructions: AGENTS.md, KODE.md and CLAUDE.md, always in the model's context.

The files are found from the repository root down to the workspace (a monorepo's root file
first, the package's own last, so the nearer one can refine the farther), plus the user's own
file in kode's config directory (first of all). They are looked at again before every model
request and re-read when they change on disk, so an edit to AGENTS.md, by the user or by the
agent, takes effect at the next step; there is no cache to go stale and no restart.

Files inside the workspace are read through the Environment (so a remote workspace's own
AGENTS.md counts); the ones in directories above it, only for a local workspace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kode.runtime.environment import Environment, EnvironmentError_

NAMES = ("AGENTS.md", "KODE.md", "CLAUDE.md")
"""Read in this order in each directory; CLAUDE.md for people moving over from Claude Code."""
MAX_BYTES = 64 * 1024
"""Per file: instructions are guidance, not a place for whole documents."""


@dataclass(slots=True)
class _Cached:
    stamp: tuple[float, int]
    text: str


@dataclass(slots=True)
class ProjectInstructions:
    env: Environment
    user_file: Path | None = None
    """The user's own instructions (e.g. ~/.config/kode/AGENTS.md), read for every project."""
    _cache: dict[str, _Cached] = field(default_factory=dict)

    def outer_directories(self) -> list[Path]:
        """Directories above a local workspace, up to its repository root (outermost first)."""
        if self.env.location != self.env.root:
            return []  # remote: only the workspace's own files
        root = Path(self.env.root)
        chain: list[Path] = []
        for parent in root.parents:
            chain.append(parent)
            if (parent / ".git").exists():
                return list(reversed(chain))
        return []  # not inside a repository above the workspace: nothing from outside it

    async def files(self) -> list[tuple[str, str]]:
        """(path, text) of every instruction file in effect now, in the order the model reads them."""
        found: list[tuple[str, str]] = []
        if self.user_file is not None:
            found += self._local(self.user_file)
        for directory in self.outer_directories():
            for name in NAMES:
                found += self._local(directory / name)
        for name in NAMES:
            found += await self._in_workspace(name)
        return found

    async def text(self) -> str:
        """The instructions as a system-prompt section ("" when there are none)."""
        files = await self.files()
        if not files:
            return ""
        parts = ["Project instructions (follow them; nearer files refine farther ones):"]
        parts += [f"<instructions file={path!r}>\n{text.strip()}\n</instructions>" for path, text in files]
        return "\n\n".join(parts)

    def _local(self, path: Path) -> list[tuple[str, str]]:
        try:
            info = path.stat()
        except OSError:
            return []
        key = str(path)
        stamp = (info.st_mtime, info.st_size)
        cached = self._cache.get(key)
        if cached is None or cached.stamp != stamp:
            try:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_BYTES)
            except OSError:
                return []
            cached = self._cache[key] = _Cached(stamp, data.decode("utf-8", "replace"))
        return [(_shown(path), cached.text)] if cached.text.strip() else []

    async def _in_workspace(self, name: str) -> list[tuple[str, str]]:
        try:
            stat = await self.env.stat(name)
            if stat is None or stat.is_dir:
                return []
            key = f"{self.env.location}/{name}"
            stamp = (stat.mtime, stat.size)
            cached = self._cache.get(key)
            if cached is None or cached.stamp != stamp:
                data = await self.env.read_bytes(await self.env.resolve(name), limit=MAX_BYTES)
                cached = self._cache[key] = _Cached(stamp, data.decode("utf-8", "replace"))
        except EnvironmentError_:
            return []
        return [(name, cached.text)] if cached.text.strip() else []


def _shown(path: Path) -> str:
    home = os.path.expanduser("~")
    text = str(path)
    return "~" + text[len(home) :] if home and text.startswith(home + os.sep) else text
