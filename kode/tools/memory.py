"""remember / recall: long-term notes that outlive the session, and the context section built
from them.

The tools sit below the store (see docs/architecture.md), so they talk to it through
`MemoryPort`, a two-method protocol bound to the session's project; `kode.store.StoreMemoryPort`
implements it. The port is given to the tools when they are built (`memory_tools(port)`), not
through `ToolContext`, so sessions without a store simply do not get these tools.

Both tools are kind "other": saving or looking up a note changes nothing outside kode's own
database, so they never ask for approval.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from kode.tools.base import Tool, ToolContext, ToolError, ToolResult

log = logging.getLogger("kode.tools.memory")

MemoryScope = Literal["project", "user"]
MAX_TEXT = 2000
"""A memory is a note, not a document: long ones would crowd every later system prompt."""


class MemoryNote(Protocol):
    """What the port hands back for one memory (`kode.store.MemoryRecord` is one)."""

    @property
    def id(self) -> int: ...

    @property
    def scope(self) -> str: ...

    @property
    def text(self) -> str: ...


class MemoryPort(Protocol):
    """Memories as seen from one project: adds land in it (or the user's scope), searches see the
    project's notes and the user's."""

    async def add(self, scope: str, text: str) -> MemoryNote: ...

    async def search(self, query: str, limit: int = 5) -> Sequence[MemoryNote]:
        """Notes matching `query`, most relevant first."""
        ...


class RememberParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="The fact to keep, as one self-contained sentence or two (it will be read without "
        "this conversation).",
    )
    scope: MemoryScope = Field(
        default="project",
        description="project: about this codebase (commands, conventions, pitfalls). user: a preference "
        "of the user's that holds in every project.",
    )


class RecallParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="Words to look for in saved memories.")
    limit: int = Field(default=5, ge=1, le=20, description="At most this many memories.")


class Remember(Tool[RememberParams]):
    name = "remember"
    description = (
        "Save a short note for future sessions: a build/test command, a convention, a pitfall you found, or "
        "a preference the user stated. Relevant notes are shown to you automatically in later sessions. "
        "Save only durable facts, not task progress."
    )
    Params = RememberParams
    kind = "other"

    def __init__(self, port: MemoryPort) -> None:
        self._port = port

    def summary(self, params: RememberParams) -> str:
        return f"[{params.scope}] {_one_line(params.text, 60)}"

    async def run(self, params: RememberParams, ctx: ToolContext) -> ToolResult:
        try:
            note = await self._port.add(params.scope, params.text)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        return ToolResult(
            output=f"Remembered ({note.scope} memory {note.id}): {note.text}",
            display={"memory": {"id": note.id, "scope": note.scope}},
        )


class Recall(Tool[RecallParams]):
    name = "recall"
    description = (
        "Search the notes saved with `remember` in earlier sessions (this project's and the user's), most "
        "relevant first."
    )
    Params = RecallParams
    kind = "other"

    def __init__(self, port: MemoryPort) -> None:
        self._port = port

    def summary(self, params: RecallParams) -> str:
        return _one_line(params.query, 60)

    async def run(self, params: RecallParams, ctx: ToolContext) -> ToolResult:
        notes = await self._port.search(params.query, params.limit)
        if not notes:
            return ToolResult(output=f"No memories match {params.query!r}.")
        return ToolResult(output="\n".join(_bullet(note) for note in notes))


def memory_tools(port: MemoryPort) -> list[Tool[Any]]:
    """The memory tools, bound to one project's memories."""
    return [Remember(port), Recall(port)]


CONTEXT_HEADER = (
    "# Memories\n"
    "Notes saved in earlier sessions that may bear on this request (`remember` adds more, `recall` "
    "searches them). They can be out of date: when one disagrees with the code, trust the code."
)


async def memory_context(port: MemoryPort, request_text: str, limit: int = 5) -> str:
    """A system-prompt section with the memories most relevant to `request_text`, or "" when
    none match. A failing search is logged and yields "": memory helps a turn, it must never
    stop one."""
    if not request_text.strip():
        return ""
    try:
        notes = await port.search(request_text, limit)
    except Exception:
        log.warning("memory search failed; continuing without memories", exc_info=True)
        return ""
    if not notes:
        return ""
    return CONTEXT_HEADER + "\n" + "\n".join(_bullet(note) for note in notes)


def _bullet(note: MemoryNote) -> str:
    return f"- [{note.scope} #{note.id}] {note.text}"


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
