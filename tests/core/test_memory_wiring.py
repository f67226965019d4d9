"""Memories through a real stored session: `#`-style notes (the remember op), the remember tool,
and relevant memories joining the next session's requests in the same project."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kode.config import load_config
from kode.host.opening import OpenRequest, open_session
from kode.protocol.events import Memories, MemorySaved
from kode.protocol.ops import ListMemories, Remember, SubmitMessage
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
