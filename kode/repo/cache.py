"""A cache of parsed tags keyed by file content, in memory and in a sqlite file.

Keyed by (language, sha1 of the content), not by path or mtime: a file that did not change is
never parsed twice, a renamed or copied file costs nothing, and remote workspaces (no reliable
mtimes) behave like local ones. sqlite (stdlib) lets several kode processes share one cache file
without a lock dance, and reads only the rows a build needs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from kode.repo.tags import FileTags

if TYPE_CHECKING:
    import sqlite3

CACHE_VERSION = 1
"""Bump when the queries or the stored format change: old files are then simply not read."""
MEMORY_LIMIT = 50_000
"""Entries kept in the process-wide memory cache before it is emptied and starts again."""

_MEMORY: dict[str, FileTags] = {}


def content_key(language: str, data: bytes) -> str:
    return f"{language}:{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"


def clear_memory() -> None:
    """Forget the in-memory entries (tests use it to prove the disk cache is read)."""
    _MEMORY.clear()


class TagCache:
    """Memory first, then the sqlite file under `cache_dir` (if any); writes go to both."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, FileTags] = {}
        if cache_dir is not None:
            import sqlite3  # lazily: the tools use the memory cache alone

            cache_dir.mkdir(parents=True, exist_ok=True)
            path = cache_dir / f"repo-tags-v{CACHE_VERSION}.sqlite"
            self._db = sqlite3.connect(path, timeout=10, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS tags (key TEXT PRIMARY KEY, data TEXT NOT NULL)")

    def get_many(self, keys: Iterable[str]) -> dict[str, FileTags]:
        """The cached entries among `keys`; memory first, the rest in batched sqlite reads."""
        found: dict[str, FileTags] = {}
        missing: list[str] = []
        for key in keys:
            hit = _MEMORY.get(key)
            if hit is not None:
                found[key] = hit
            else:
                missing.append(key)
        if self._db is not None and missing:
            for start in range(0, len(missing), 500):
                chunk = missing[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for key, data in self._db.execute(f"SELECT key, data FROM tags WHERE key IN ({marks})", chunk):
                    tags = FileTags.from_json(json.loads(data))
                    found[key] = tags
                    self._remember(key, tags)
        return found

    def put(self, key: str, tags: FileTags) -> None:
        self._remember(key, tags)
        if self._db is not None:
            self._pending[key] = tags

    def flush(self) -> None:
        """Write new entries to disk in one transaction."""
        if self._db is None or not self._pending:
            return
        rows = [(key, json.dumps(tags.to_json(), separators=(",", ":"))) for key, tags in self._pending.items()]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO tags (key, data) VALUES (?, ?)", rows)
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    @staticmethod
    def _remember(key: str, tags: FileTags) -> None:
        if len(_MEMORY) >= MEMORY_LIMIT:
            _MEMORY.clear()
        _MEMORY[key] = tags
