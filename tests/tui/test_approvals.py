"""The approval modal against a real session: what it shows, each answer, keyboard only, and
closing when the request is resolved elsewhere."""

from __future__ import annotations

from kode.protocol.ops import AnswerApproval
from kode.testing.scripted_model import Step
from kode.tui.widgets.approval import ApprovalScreen
from kode.tui.widgets.tool_card import ToolCard

from .helpers import SIZE, app_for, wait_for
from .screen import screen_text

EDIT = ("edit_file", {"path": "hello.py", "edits": [{"old_text": "'hello'", "new_text": "'hi there'"}]})
BASH = ("bash", {"command": "echo approved-run"})


async def _until_modal(app, pilot) -> ApprovalScreen:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
    return app.screen  # type: ignore[return-value]


async def test_edit_approval_shows_the_diff_and_allow_once_runs_it(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[EDIT]), Step(text="Edited."))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"edit", "enter")
        await _until_modal(app, pilot)
        text = screen_text(app)
        assert "Allow edit_file?" in text
        assert "-    return 'hello'" in text and "+    return 'hi there'" in text
        assert "adds rule edit(hello.py)" in text
        await pilot.press("1")
        await wait_for(pilot, lambda: not app.state.status.turn_running)
        assert not isinstance(app.screen, ApprovalScreen)
        assert app.query_one(ToolCard).item.status == "ok"
    assert "hi there" in (rig.workspace / "hello.py").read_text()


async def test_bash_approval_shows_the_command_and_allow_session_adds_the_rule(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[BASH]), Step(tool_calls=[BASH]), Step(text="Ran twice."))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"run", "enter")
        await _until_modal(app, pilot)
        assert "echo approved-run" in screen_text(app)
        await pilot.press("a")
        await wait_for(pilot, lambda: not app.state.status.turn_running)
        cards = list(app.query(ToolCard))
        assert [c.item.status for c in cards] == ["ok", "ok"]  # the second ran without asking
        assert app.screen is app.screen_stack[0]


async def test_deny_with_a_reason_is_told_to_the_model(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[BASH]), Step(text="OK, I will not."))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"run", "enter")
        await _until_modal(app, pilot)
        await pilot.press("3")  # deny: asks for a reason
        await pilot.press(*"use make instead", "enter")
        await wait_for(pilot, lambda: not app.state.status.turn_running)
        card = app.query_one(ToolCard)
        assert card.item.status == "denied"
        assert "use make instead" in screen_text(app)
    tool_result = rig.model.requests[1].messages[-1]
    assert "use make instead" in str(tool_result["content"])


async def test_escape_denies_and_keyboard_navigation_works(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[BASH]), Step(tool_calls=[BASH]), Step(text="fine"))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"run", "enter")
        await _until_modal(app, pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(rig.model.requests) >= 2)
        await _until_modal(app, pilot)
        await pilot.press("down", "enter")  # the second option: allow for this session
        await wait_for(pilot, lambda: not app.state.status.turn_running)
        assert [c.item.status for c in app.query(ToolCard)] == ["denied", "ok"]


async def test_modal_closes_when_another_client_answers(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[BASH]), Step(text="done"))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"run", "enter")
        modal = await _until_modal(app, pilot)
        # a second client (another terminal, a web page) answers first
        await rig.session.submit(AnswerApproval(request_id=modal.request.request_id, decision="allow_once"))
        await wait_for(pilot, lambda: not isinstance(app.screen, ApprovalScreen))
        await wait_for(pilot, lambda: not app.state.status.turn_running)
        assert app.query_one(ToolCard).item.status == "ok"


async def test_cancelling_the_turn_closes_the_modal(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[BASH]), Step(text="unused"))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"run", "enter")
        await _until_modal(app, pilot)
        await rig.session.cancel()
        await wait_for(pilot, lambda: not isinstance(app.screen, ApprovalScreen) and not app.state.status.turn_running)
        assert "Turn cancelled." in screen_text(app)
