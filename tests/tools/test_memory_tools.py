"""remember / recall and memory_context, against a real SQLite store in tmp (through
`StoreMemoryPort`, as sessions use them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from kode.store import Store, StoreMemoryPort
from kode.testing.contract_support import tool_caller
from kode.tools.base import ToolContext, ToolRegistry
from kode.tools.memory import CONTEXT_HEADER, MemoryNote, Recall, Remember, memory_context, memory_tools

from .helpers import Call


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'kode.db'}")
    yield store
    await store.close()


@pytest.fixture
def port(store: Store, ws: Path) -> StoreMemoryPort:
    return StoreMemoryPort(store, str(ws))


@pytest.fixture
def mcall(port: StoreMemoryPort, ctx: ToolContext) -> Call:
    return tool_caller(ctx, ToolRegistry(memory_tools(port)))


def test_tools_are_bookkeeping(port: StoreMemoryPort) -> None:
    tools = memory_tools(port)
    assert [t.name for t in tools] == ["remember", "recall"]
    assert all(t.kind == "other" and not t.read_only for t in tools)  # never asks for approval
    schema = {t.name: t.schema()["function"]["parameters"] for t in tools}
    assert schema["remember"]["required"] == ["text"]
    assert schema["remember"]["properties"]["scope"]["enum"] == ["project", "user"]
    assert schema["recall"]["required"] == ["query"]


async def test_remember_then_recall(mcall: Call, store: Store, ws: Path) -> None:
    saved = await mcall("remember", text="Run the test suite with `make check`.")
    await mcall("remember", text="The user wants British spelling.", scope="user")
    await mcall("remember", text="Docs are built with mkdocs.")

    assert not saved.is_error
    assert saved.output.startswith("Remembered (project memory ")
    assert saved.display is not None and saved.display["memory"]["scope"] == "project"
    stored = await store.list_memories(str(ws))
    assert [(m.scope, m.project) for m in stored] == [("project", str(ws)), ("user", ""), ("project", str(ws))]

    found = await mcall("recall", query="how do I run the tests?")
    assert not found.is_error
    assert found.output.splitlines()[0].endswith("Run the test suite with `make check`.")
    assert "[user #" in (await mcall("recall", query="spelling")).output
    assert (await mcall("recall", query="kubernetes")).output == "No memories match 'kubernetes'."


async def test_recall_tolerates_query_syntax(mcall: Call) -> None:
    await mcall("remember", text="Quote handling lives in parser.py.")

    result = await mcall("recall", query='"quote* AND (parser OR NEAR:')

    assert not result.is_error
    assert "parser.py" in result.output


async def test_bad_arguments_are_refused_before_running(mcall: Call, store: Store, ws: Path) -> None:
    from kode.tools.base import InvalidArguments

    for arguments in ({"text": ""}, {"text": "x", "scope": "team"}, {"text": "x" * 5000}):
        with pytest.raises(InvalidArguments):
            await mcall("remember", **arguments)
    assert await store.list_memories(str(ws)) == []
    whitespace = await mcall("remember", text="   ")  # passes the schema, the store refuses it
    assert whitespace.is_error and "text" in whitespace.output


async def test_project_memories_stay_in_their_project(store: Store, ctx: ToolContext, tmp_path: Path) -> None:
    here = tool_caller(ctx, ToolRegistry(memory_tools(StoreMemoryPort(store, "/proj/a"))))
    there = tool_caller(ctx, ToolRegistry(memory_tools(StoreMemoryPort(store, "/proj/b"))))
    await here("remember", text="Project A deploys with helm.")
    await here("remember", text="The user deploys on Fridays never.", scope="user")

    seen_there = (await there("recall", query="deploys")).output

    assert "helm" not in seen_there and "Fridays" in seen_there


def test_summaries_are_short(port: StoreMemoryPort) -> None:
    remember, recall = Remember(port), Recall(port)
    long = "word " * 100
    assert len(remember.summary(remember.Params(text=long))) < 80  # type: ignore[arg-type]
    assert recall.summary(recall.Params(query="tests")) == "tests"  # type: ignore[arg-type]


async def test_memory_context(port: StoreMemoryPort) -> None:
    assert await memory_context(port, "anything at all") == ""
    assert await memory_context(port, "   ") == ""
    await port.add("project", "Integration tests need docker running.")
    await port.add("user", "Keep answers short.")

    section = await memory_context(port, "why do the integration tests fail?")

    assert section.startswith(CONTEXT_HEADER)
    assert "Integration tests need docker running." in section
    assert "Keep answers short." not in section  # not relevant to this request
    assert await memory_context(port, "unrelated words") == ""


async def test_memory_context_survives_a_failing_port() -> None:
    class Broken:
        async def add(self, scope: str, text: str) -> MemoryNote:
            raise AssertionError("not used")

        async def search(self, query: str, limit: int = 5) -> Sequence[MemoryNote]:
            raise OSError("database is gone")

    assert await memory_context(Broken(), "anything") == ""
