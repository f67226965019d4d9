"""Prompt history: what you sent before, per project, navigated with Up/Down.

Stored as JSON lines in a file under kode's data dir (one file per project directory), newest
last. Plain Python so it is easy to test; the prompt widget only calls `previous`/`next`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MAX_ENTRIES = 1000


def history_file(data_dir: Path, cwd: Path) -> Path:
    """The history file for the project in `cwd`."""
    digest = hashlib.sha256(str(cwd.resolve()).encode()).hexdigest()[:16]
    return data_dir / "tui" / "history" / f"{cwd.name or 'root'}-{digest}.jsonl"


class PromptHistory:
    def __init__(self, path: Path | None, *, limit: int = MAX_ENTRIES) -> None:
        self.path = path
        self.limit = limit
        self.entries: list[str] = self._load()
        self._cursor: int | None = None
        self._draft = ""

    def _load(self) -> list[str]:
        if self.path is None:
            return []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return []
        entries: list[str] = []
        for line in lines[-self.limit :]:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, str) and value:
                entries.append(value)
        return entries

    def add(self, text: str) -> None:
        """Remember a sent prompt (a repeat of the last one is not stored twice)."""
        self.reset()
        if not text.strip() or (self.entries and self.entries[-1] == text):
            return
        self.entries.append(text)
        del self.entries[: -self.limit]
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(text) + "\n")
        except OSError:
            pass  # history is a convenience: never fail a turn for it

    def reset(self) -> None:
        self._cursor = None
        self._draft = ""

    @property
    def browsing(self) -> bool:
        return self._cursor is not None

    def previous(self, current: str) -> str | None:
        """The entry before the one shown (the newest first); None at the oldest."""
        if not self.entries:
            return None
        if self._cursor is None:
            self._draft = current
            self._cursor = len(self.entries)
        if self._cursor == 0:
            return None
        self._cursor -= 1
        return self.entries[self._cursor]

    def next(self) -> str | None:
        """The entry after the one shown; the draft you started with after the newest."""
        if self._cursor is None:
            return None
        self._cursor += 1
        if self._cursor >= len(self.entries):
            draft = self._draft
            self.reset()
            return draft
        return self.entries[self._cursor]
