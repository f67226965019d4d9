"""Memories through a real stored session: `#`-style notes (the remember op), the remember tool,
relevant memories joining the next session's requests in the same project, and `/memory`'s
edits (the update_memory and forget_memory ops)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kode.config import load_config
from kode.host.opening import Opened, OpenRequest, open_session
from kode.protocol.common import ErrorKind
from kode.protocol.events import ErrorEvent, Memories, MemoryForgotten, MemoryItem, MemorySaved, MemoryUpdated
from kode.protocol.ops import ForgetMemory, ListMemories, Remember, SubmitMessage, UpdateMemory
from kode.testing.scripted_model import ScriptedModel, Step


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KODE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KODE_CONFIG_DIR", str(tmp_path / "config"))
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


async def opened_with(workspace: Path, model: ScriptedModel):  # type: ignore[no-untyped-def]
    loaded = load_config(workspace, overrides={"models.main": "scripted/test"})
    opened = await open_session(loaded, OpenRequest(cwd=workspace, api_key="x", interactive=True, owner="test"))
    opened.session.agent.model = model
    return opened


async def test_memories_outlive_the_session_and_join_relevant_requests(workspace: Path) -> None:
    first = await opened_with(
        workspace,
        ScriptedModel(
            Step(tool_calls=[("remember", {"text": "The staging database is called kode_staging."})]),
            Step(text="Noted."),
        ),
    )
    try:
        await first.session.submit(Remember(text="Deploys happen on Thursdays only."))
        await first.session.submit(SubmitMessage(text="remember where staging is"))
        await first.session.wait_idle()
        saved = [e for e in first.session.log.durable_events() if isinstance(e, MemorySaved)]
        assert saved and saved[0].memory.text == "Deploys happen on Thursdays only."
        stream = first.session.events(first.session.log.last_seq)
        await first.session.submit(ListMemories())
        listed = await asyncio.wait_for(_first_memories(stream), 5)
        assert {m.text for m in listed.memories} == {
            "Deploys happen on Thursdays only.",
            "The staging database is called kode_staging.",
        }
    finally:
        await first.close()

    model = ScriptedModel(Step(text="It is kode_staging."))
    second = await opened_with(workspace, model)
    try:
        await second.session.submit(SubmitMessage(text="which database does staging use?"))
        await second.session.wait_idle()
    finally:
        await second.close()
    system = str(model.requests[0].messages[0]["content"])
    assert "kode_staging" in system
    assert "remember" in [t["function"]["name"] for t in model.requests[0].tools]


async def _first_memories(stream) -> Memories:  # type: ignore[no-untyped-def]
    async for event in stream:
        if isinstance(event, Memories):
            return event
    raise AssertionError("no memories event")


@pytest.fixture
async def opened(workspace: Path) -> AsyncIterator[Opened]:
    """A stored session that has just started; its stream is read from here on."""
    opened = await opened_with(workspace, ScriptedModel())
    try:
        yield opened
    finally:
        await opened.close()


async def test_memories_are_edited_and_forgotten_through_ops(opened: Opened) -> None:
    session = opened.session
    stream = session.events(session.log.last_seq)
    await session.submit(Remember(text="Deploys happen on Thursdays."))
    await session.submit(Remember(text="Use tabs.", scope="user"))
    deploys, tabs = [e.memory for e in await _read_until(stream, MemorySaved, 2)]

    await session.submit(UpdateMemory(id=deploys.id, text="  Deploys happen on Fridays.  "))
    (updated,) = await _read_until(stream, MemoryUpdated)
    assert updated.memory == MemoryItem(id=deploys.id, scope="project", text="Deploys happen on Fridays.")

    await session.submit(ForgetMemory(id=tabs.id))
    (forgotten,) = await _read_until(stream, MemoryForgotten)
    assert forgotten.id == tabs.id

    await session.submit(ListMemories())
    (listed,) = await _read_until(stream, Memories)
    assert listed.memories == [updated.memory]
    durable = {type(e) for e in session.log.durable_events()}
    assert {MemorySaved, MemoryUpdated, MemoryForgotten} <= durable, "changes to memories are part of the record"


async def test_an_unknown_memory_id_is_an_error_and_changes_nothing(opened: Opened) -> None:
    session = opened.session
    stream = session.events(session.log.last_seq)
    await session.submit(Remember(text="Run the tests with make check."))
    (saved,) = await _read_until(stream, MemorySaved)
    # another project's memory has an id too; this session must not reach it
    assert opened.stored is not None and session.memory is not None
    store, project = opened.stored.store, session.memory.project  # type: ignore[attr-defined]
    elsewhere = await store.add_memory("project", project + "-other", "Not yours.")

    for op in (
        UpdateMemory(id=saved.memory.id + 1000, text="lost"),
        ForgetMemory(id=saved.memory.id + 1000),
        UpdateMemory(id=elsewhere.id, text="hijacked"),
        ForgetMemory(id=elsewhere.id),
        UpdateMemory(id=saved.memory.id, text="   "),
    ):
        await session.submit(op)  # reported, never raised
        (error,) = await _read_until(stream, ErrorEvent)
        if isinstance(op, UpdateMemory) and not op.text.strip():
            assert error.error.kind == ErrorKind.BAD_REQUEST, op
        else:
            assert error.error.kind == ErrorKind.NOT_FOUND, op
            assert f"no memory with id {op.id}" in error.error.message
    remaining = [(m.id, m.text) for m in await store.list_memories(project)]
    assert remaining == [(saved.memory.id, "Run the tests with make check.")]
    assert [m.text for m in await store.list_memories(project + "-other")] == ["Not yours."]


async def _read_until(stream, kind: type, count: int = 1) -> list:  # type: ignore[no-untyped-def,type-arg]
    """The next `count` events of type `kind` from `stream`; an ErrorEvent before them fails."""

    async def read() -> list:  # type: ignore[type-arg]
        found = []
        async for event in stream:
            if isinstance(event, kind):
                found.append(event)
                if len(found) == count:
                    return found
            elif isinstance(event, ErrorEvent):
                raise AssertionError(f"unexpected error: {event.error.message}")
        raise AssertionError(f"the stream ended before {count} {kind.__name__}")

    return await asyncio.wait_for(read(), 5)
