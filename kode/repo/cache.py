"""A cache of parsed tags keyed by file content: in this process's memory, and in the store.

Keyed by (language, sha1 of the content), not by path or mtime: a file that did not change is
never parsed twice, a renamed or copied file costs nothing, and remote workspaces (no reliable
mtimes) behave like local ones.

What outlives the process goes to a `TagStore` — the session store (`kode.store.Store`), so all
sessions and processes on one database share it. The store is async and the parsing runs in a
worker thread, so a build asks the store for a batch's missing keys first (`load`), parses what
is still missing, then hands the new entries back (`take_new`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from kode.repo.tags import FileTags

CACHE_VERSION = 1
"""Part of every key: bump it when the queries or the stored format change, and old entries are
simply never asked for again."""
MEMORY_LIMIT = 50_000
"""Entries kept in the process-wide memory cache before it is emptied and starts again."""

_MEMORY: dict[str, FileTags] = {}


class TagStore(Protocol):
    """Where parsed tags outlive the process (kode.store.Store matches it)."""

    async def get_repo_tags(self, keys: Sequence[str]) -> dict[str, str]: ...

    async def put_repo_tags(self, rows: Mapping[str, str]) -> None: ...


def content_key(language: str, data: bytes) -> str:
    return f"v{CACHE_VERSION}:{language}:{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"


def clear_memory() -> None:
    """Forget the in-memory entries (tests use it to prove the store is read)."""
    _MEMORY.clear()


class TagCache:
    """The process-wide memory cache, plus the entries added since the last `take_new`."""

    def __init__(self) -> None:
        self._new: dict[str, FileTags] = {}

    def get_many(self, keys: Iterable[str]) -> dict[str, FileTags]:
        return {key: hit for key in keys if (hit := _MEMORY.get(key)) is not None}

    def missing(self, keys: Iterable[str]) -> list[str]:
        return [key for key in dict.fromkeys(keys) if key not in _MEMORY]

    def load(self, rows: Mapping[str, str]) -> None:
        """Entries read from the store (JSON), into memory; unreadable ones are parsed again."""
        for key, data in rows.items():
            try:
                self.remember(key, FileTags.from_json(json.loads(data)))
            except (ValueError, KeyError, TypeError):
                continue

    def put(self, key: str, tags: FileTags) -> None:
        """A newly parsed entry: into memory, and kept for the store."""
        self.remember(key, tags)
        self._new[key] = tags

    def take_new(self) -> dict[str, str]:
        """The entries parsed since the last call, as JSON for the store."""
        rows = {key: json.dumps(tags.to_json(), separators=(",", ":")) for key, tags in self._new.items()}
        self._new.clear()
        return rows

    @staticmethod
    def remember(key: str, tags: FileTags) -> None:
        """Into this process's memory only (the symbol tools, which have no store)."""
        if len(_MEMORY) >= MEMORY_LIMIT:
            _MEMORY.clear()
        _MEMORY[key] = tags
