"""Model and tool text can never drive the terminal: escape sequences are shown inert."""

from __future__ import annotations

from kode.protocol import events as ev
from kode.testing.scripted_model import Step
from kode.tui import KodeApp
from kode.tui.widgets.approval import ApprovalScreen

from .fakes import ScriptedClient
from .helpers import SIZE, app_for, wait_for
from .screen import screen_text

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"
OSC8 = "\x1b]8;;https://127.0.0.1/evil\x1b\\click me\x1b]8;;\x1b\\"
CSI = "\x1b[2J\x1b[1;1Hrewritten"
C1 = "\x9b31mred"
HOSTILE = f"before {OSC52} {OSC8} {CSI} {C1} [bold]not markup[/bold] after"


def _assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "␛]52;c;cm0gLXJmIH4=␇" in text


async def test_hostile_model_text_and_tool_output_are_inert(app_options) -> None:
    client = ScriptedClient([
        ev.UserMessage(message_id="u1", text="hi " + OSC52),
        ev.TextDelta(message_id="m1", text=HOSTILE),
        ev.ToolCallRequested(call_id="c1", name="bash", arguments={}, summary="cat x " + OSC52),
        ev.ToolCallStarted(call_id="c1", name="bash"),
        ev.ToolCallOutput(call_id="c1", chunk=HOSTILE + "\n"),
    ])
    app = KodeApp(client, options=app_options())
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "after" in screen_text(app))
        client.push(ev.ToolCallFinished(call_id="c1", name="bash", status="error", output=HOSTILE, display={"exit_code": 1}))
        await wait_for(pilot, lambda: "Output" in screen_text(app))
        text = screen_text(app)
        _assert_inert(text)
        assert "[bold]not markup[/bold]" in text
        svg = app.export_screenshot()
        assert "\x1b" not in svg


async def test_hostile_approval_details_are_inert(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[("bash", {"command": f"echo '{OSC52}'"})]), Step(text="done"))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        _assert_inert(screen_text(app))
        await pilot.press("n", "enter")
        await wait_for(pilot, lambda: not app.state.status.turn_running)
