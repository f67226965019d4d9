"""The TUI on a real session whose model is the real litellm client talking HTTP to the local
fake provider (no scripted model in process): type, send, read the streamed answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from kode.client.inprocess import InProcessClient
from kode.config import load_config
from kode.host.wiring import Wiring, build_session
from kode.testing.fake_provider import FakeProvider
from kode.tui import KodeApp
from kode.tui.widgets.message import AssistantMessageView

from .helpers import SIZE, wait_for
from .screen import screen_text


@pytest.fixture
def provider():  # type: ignore[no-untyped-def]
    with FakeProvider(echo=True) as fake:
        yield fake


async def test_turn_over_http_through_litellm(provider, workspace: Path, app_options, monkeypatch) -> None:
    monkeypatch.setenv("KODE_CONFIG_DIR", str(workspace.parent / "cfg"))
    loaded = load_config(
        workspace, overrides={"models.main": "openai/gpt-4o-mini", "provider.api_base": provider.openai_base}
    )
    session = build_session(loaded, Wiring(cwd=workspace, api_key="x", interactive=True))
    session.start()
    app = KodeApp(InProcessClient(session), options=app_options(model="openai/gpt-4o-mini"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"echo this back please", "enter")
        await wait_for(pilot, lambda: bool(app.query(AssistantMessageView)) and not app.state.status.turn_running, timeout=60)
        text = screen_text(app)
        assert text.count("echo this back please") >= 2  # the user message and the echoed answer
        assert app.state.status.usage.input_tokens > 0
