"""`kode attach`: the real TUI under Pilot on a RemoteClient to a live server.

One client prompts, another watches: both see the turn. The TUI also answers an approval that
the session asked for over the network, and sees a turn another client started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from kode.cli.attach_cmd import RemoteActions
from kode.client.remote import RemoteServer
from kode.protocol.ops import SubmitMessage
from kode.testing.fake_provider import FakeProvider, Reply, ToolCall
from kode.testing.live_server import LiveServer, start_server
from kode.tui import AppOptions, KodeApp
from kode.tui.themes import shipped_theme_dirs
from kode.tui.widgets.message import AssistantMessageView

from .helpers import SIZE, wait_for
from .screen import screen_text


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    with FakeProvider(echo=True) as fp:
        yield fp


@pytest.fixture
def live_server(tmp_path: Path, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """A live server on a store in tmp (see tests/server/conftest.py for the full story)."""
    monkeypatch.setenv("KODE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KODE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    workspace = tmp_path / "served"
    workspace.mkdir()
    provider.clear()
    server = start_server(workspace, provider)
    try:
        yield server
    finally:
        server.stop()


def options(tmp_path: Path, workspace: Path, server: RemoteServer) -> AppOptions:
    return AppOptions(
        cwd=workspace,
        model="openai/gpt-4o-mini",
        history_path=tmp_path / "tui" / "history.jsonl",
        prefs_path=tmp_path / "tui" / "state.json",
        theme_dirs=[*shipped_theme_dirs()],
        animations=False,
        actions=RemoteActions(server),
        banner_note="attached to test",
    )


async def test_attached_tui_prompts_while_another_client_watches(live_server, tmp_path: Path) -> None:
    server = RemoteServer(live_server.url, live_server.token)
    watcher = RemoteServer(live_server.url, live_server.token)
    try:
        view = await server.create_session()
        watched: list[str] = []

        async def watch() -> None:
            async for event in watcher.events(view.id):
                watched.append(event.type)
                if event.type == "turn_finished":
                    return

        watching = asyncio.create_task(watch())
        app = KodeApp(server.client(view.id), options=options(tmp_path, live_server.workspace, server))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*"hello from the attached tui", "enter")
            await wait_for(
                pilot, lambda: bool(app.query(AssistantMessageView)) and not app.state.status.turn_running, timeout=30
            )
            text = screen_text(app)
            assert text.count("hello from the attached tui") >= 2, text  # the prompt and the echo
            assert "attached to test" in text
            await asyncio.wait_for(watching, 10)
        assert watched[0] == "session_started" and "message_completed" in watched
    finally:
        await server.close()
        await watcher.close()


async def test_attached_tui_sees_another_clients_turn_and_answers_its_approval(
    live_server, provider, tmp_path: Path
) -> None:
    provider.script(
        Reply(text="Writing it.", tool_calls=[ToolCall("write_file", {"path": "remote.txt", "content": "hi\n"})]),
        Reply(text="Done writing."),
    )
    server = RemoteServer(live_server.url, live_server.token)
    other = RemoteServer(live_server.url, live_server.token)
    try:
        view = await server.create_session()
        app = KodeApp(server.client(view.id), options=options(tmp_path, live_server.workspace, server))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            await other.client(view.id).submit(SubmitMessage(text="please write remote.txt"))
            await wait_for(pilot, lambda: "Allow once" in screen_text(app), timeout=30)
            await pilot.press("enter")  # the modal's default: allow once
            await wait_for(pilot, lambda: "Done writing." in screen_text(app), timeout=30)
            assert "please write remote.txt" in screen_text(app)
        assert (live_server.workspace / "remote.txt").read_text() == "hi\n"
    finally:
        await server.close()
        await other.close()
