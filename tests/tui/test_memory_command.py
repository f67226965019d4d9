"""/memory: the dialog lists this project's memories and edits, deletes and adds them through the
session, keyboard only; the store really changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.widgets import Input

from kode.client.inprocess import InProcessClient
from kode.protocol.ops import Remember
from kode.store import Store, StoreMemoryPort
from kode.testing.scripted_model import ScriptedModel
from kode.testing.scripted_session import scripted_session
from kode.tui.state import NoticeItem
from kode.tui.widgets.memories import MemoryScreen

from .helpers import SIZE, Rig, app_for, wait_for
from .screen import screen_text


@pytest.fixture
async def stored(workspace: Path, tmp_path: Path) -> AsyncIterator[tuple[Rig, Store, StoreMemoryPort]]:
    store = await Store.open(f"sqlite:///{tmp_path / 'kode.db'}")
    port = StoreMemoryPort(store, str(workspace))
    model = ScriptedModel()
    session = scripted_session(workspace, model, memory=port)
    session.start()
    try:
        yield Rig(session, model, InProcessClient(session), workspace), store, port
    finally:
        await session.close()
        await store.close()


def notices(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.text for item in app.state.root.items if isinstance(item, NoticeItem)]


async def test_memory_dialog_edits_deletes_and_adds(stored, app_options) -> None:
    rig, store, port = stored
    await store.add_memory("project", str(rig.workspace) + "-other", "Another project's note.")
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        for note in ("# Deploy on Thu.", "# Lint: ruff.", "# Tests: docker."):
            await pilot.press(*note, "enter")
        await wait_for(pilot, lambda: sum(text.startswith("Remembered") for text in notices(app)) == 3)
        deploys, lint, tests = await port.list()

        await pilot.press(*"/memory", "enter")
        assert isinstance(app.screen, MemoryScreen)
        screen = app.screen
        await wait_for(pilot, lambda: screen.memories is not None)
        assert [m.id for m in screen.memories or []] == [deploys.id, lint.id, tests.id]
        text = screen_text(app)
        assert "Deploy on Thu." in text and f"#{lint.id}" in text and "project" in text
        assert "Another project's note." not in text

        # edit the first: e opens it pre-filled; Ctrl+S saves
        await pilot.press("e")
        editor = screen.query_one("#memory-editor", Input)
        assert editor.has_focus and editor.value == "Deploy on Thu."
        editor.value = ""
        await pilot.press(*"Deploy on Fri.", "ctrl+s")
        await wait_for(pilot, lambda: any(m.text == "Deploy on Fri." for m in screen.memories or []))
        assert "Memory updated" in screen_text(app)

        # Esc while editing cancels, and keeps the dialog open
        await pilot.press("down", "enter")
        assert editor.has_focus and editor.value == "Lint: ruff."
        await pilot.press(*" x", "escape")
        assert isinstance(app.screen, MemoryScreen) and not editor.display

        # d asks first: any other key keeps it, then y deletes it
        await pilot.press("d", "x")
        assert "Kept" in screen_text(app)
        await pilot.press("d")
        assert "y deletes it" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: [m.id for m in screen.memories or []] == [deploys.id, tests.id])

        # n adds a project memory, highlighted once it is listed
        await pilot.press("n", *"See CHANGES.", "enter")
        await wait_for(pilot, lambda: len(screen.memories or []) == 3)
        assert screen.selected() is not None and screen.selected().text == "See CHANGES."  # type: ignore[union-attr]

        await pilot.press("escape")
        assert not isinstance(app.screen, MemoryScreen)
        assert app.focused is app.prompt

    listed = [(m.scope, m.text) for m in await port.list()]
    assert listed == [
        ("project", "Deploy on Fri."),
        ("project", "Tests: docker."),
        ("project", "See CHANGES."),
    ]
    assert [m.text for m in await store.list_memories(str(rig.workspace) + "-other")] == ["Another project's note."]


async def test_memory_dialog_shows_errors_and_changes_from_elsewhere(stored, app_options) -> None:
    rig, store, port = stored
    kept = await port.add("project", "Kept note.")
    gone = await port.add("project", "Deleted behind the dialog's back.")
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/memory", "enter")
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        await wait_for(pilot, lambda: len(screen.memories or []) == 2)
        await store.delete_memory(gone.id)  # e.g. another kode process
        await pilot.press("down", "e", *" y", "enter")
        await wait_for(pilot, lambda: f"no memory with id {gone.id}" in screen_text(app))
        await wait_for(pilot, lambda: [m.id for m in screen.memories or []] == [kept.id])  # listed afresh

        await rig.client.submit(Remember(text="Saved by another client.", scope="user"))
        await wait_for(pilot, lambda: len(screen.memories or []) == 2)
        assert "user" in screen_text(app) and "Saved by another client." in screen_text(app)
    assert [m.text for m in await port.list()] == ["Kept note.", "Saved by another client."]
