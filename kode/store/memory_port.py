"""The store's memories, bound to one project: what the `remember`/`recall` tools and
`memory_context` are given (they see only the small `kode.tools.memory.MemoryPort` protocol).

The store cannot know which workspace a session works in, so the caller binds it here, with the
same path it gives the session as `cwd`. This module matches the tools' protocol structurally and
imports nothing from `kode.tools`: the store sits beside the tools, not above them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode.store.memories import MemoryRecord

if TYPE_CHECKING:
    from kode.store.store import Store


class StoreMemoryPort:
    """`Store` memories seen from `project`: adds go to it (or to the user), searches see both."""

    def __init__(self, store: Store, project: str) -> None:
        if not project:
            raise ValueError("a memory port needs its project (the workspace path)")
        self._store = store
        self.project = project

    async def add(self, scope: str, text: str) -> MemoryRecord:
        return await self._store.add_memory(scope, self.project, text)

    async def search(self, query: str, limit: int = 5) -> list[MemoryRecord]:
        return await self._store.search_memories(self.project, query, limit)

    async def list(self) -> list[MemoryRecord]:
        """Every memory visible here (for `/memory`), oldest first."""
        return await self._store.list_memories(self.project)
