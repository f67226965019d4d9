"""The store's memories, bound to one project: what the `remember`/`recall` tools and
`memory_context` are given (they see only the small `kode.tools.memory.MemoryPort` protocol),
and what a session lists, updates and deletes for `/memory` (`kode.core.session.StoreMemory`).
Ids are global, so updates and deletes are refused for a memory this project does not see.

The store cannot know which workspace a session works in, so the caller binds it here, with the
same path it gives the session as `cwd`. This module matches the tools' protocol structurally and
imports nothing from `kode.tools`: the store sits beside the tools, not above them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode.store.memories import MemoryNotFound, MemoryRecord

if TYPE_CHECKING:
    from kode.store.store import Store


class MemoryNotHere(MemoryNotFound, LookupError):
    """No memory with this id is visible from the port's project: never stored, deleted, or
    another project's. Also a LookupError, so the core can catch it knowing only the port."""


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

    async def update(self, id: int, text: str) -> MemoryRecord:  # noqa: A002
        """Replace the text of a memory visible here; MemoryNotHere for any other id."""
        await self._must_see(id)
        try:
            return await self._store.update_memory(id, text)
        except MemoryNotFound as exc:  # deleted since we looked
            raise MemoryNotHere(id) from exc

    async def delete(self, id: int) -> None:  # noqa: A002
        """Delete a memory visible here; MemoryNotHere for any other id."""
        await self._must_see(id)
        try:
            await self._store.delete_memory(id)
        except MemoryNotFound as exc:
            raise MemoryNotHere(id) from exc

    async def _must_see(self, id: int) -> None:  # noqa: A002
        """Ids are global: without this, a session could change another project's memories."""
        if all(note.id != id for note in await self.list()):
            raise MemoryNotHere(id)
