"""Keys, the prompt and slash commands, against a real session with a scripted model."""

from __future__ import annotations

import json

from textual.command import CommandPalette
from textual.events import Paste

from kode.protocol import events as ev
from kode.testing.scripted_model import Step
from kode.tui import FactoryActions, KodeApp
from kode.tui.widgets.help import HelpScreen
from kode.tui.widgets.message import AssistantMessageView, ThinkingView
from kode.tui.widgets.pickers import PickerScreen

from .fakes import ScriptedClient
from .helpers import SIZE, app_for, wait_for
from .screen import screen_text


async def test_escape_cancels_the_running_turn(make_rig, app_options) -> None:
    rig = make_rig(Step(text="a long answer " * 50, chunks=100, delay=0.05))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "enter")
        await wait_for(pilot, lambda: bool(app.query(AssistantMessageView)))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.state.status.turn_running)
        assert "Turn cancelled." in screen_text(app)


async def test_ctrl_c_twice_quits(make_rig, app_options) -> None:
    rig = make_rig()
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"draft")
        await pilot.press("ctrl+c")
        assert app.prompt.text == "" and app.is_running
        assert "Press Ctrl+C again to quit" in screen_text(app)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_value == 0


async def test_shift_tab_cycles_the_permission_mode(make_rig, app_options) -> None:
    rig = make_rig()
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        for _ in range(3):
            await pilot.press("shift+tab")
            await wait_for(pilot, lambda: len(seen) < 3 and app.state.status.permission_mode != (seen[-1] if seen else "default"))
            seen.append(app.state.status.permission_mode)
        assert seen == ["accept-edits", "plan", "default"]
        assert rig.session.policy.mode.value == "default"
        assert app.focused is app.prompt


async def test_help_from_f1_and_question_mark(make_rig, app_options) -> None:
    app = app_for(make_rig(), app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(w.render()) for w in app.screen.query("#help-body Static"))
        for expected in ("escape", "shift+tab", "ctrl+c", "ctrl+p", "/resume", "/theme", "shift+enter"):
            assert expected in text
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press(*"a?")  # not empty: "?" is just a character
        assert app.prompt.text == "a?"


async def test_command_palette_lists_every_command(make_rig, app_options) -> None:
    app = app_for(make_rig(), app_options())
    async with app.run_test(size=SIZE) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for name in ("/help", "/new", "/clear", "/resume", "/model", "/mode", "/theme", "/cost", "/export", "/quit"):
            assert name in titles
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"/cost")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "total:" in screen_text(app))


async def test_enter_sends_and_shift_enter_adds_a_line(make_rig, app_options) -> None:
    rig = make_rig(Step(text="ok"))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"one", "shift+enter", *"two", "ctrl+j", *"three")
        assert app.prompt.text == "one\ntwo\nthree"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.state.status.turn_running and len(rig.model.requests) == 1)
        assert rig.model.requests[0].messages[-1]["content"] == "one\ntwo\nthree"


async def test_history_up_down_and_persisted_per_project(make_rig, app_options, tmp_path) -> None:
    rig = make_rig(default=lambda request: Step(text="ok"))
    options = app_options()
    app = app_for(rig, options)
    async with app.run_test(size=SIZE) as pilot:
        for text in ("first", "second"):
            await pilot.press(*text, "enter")
            await wait_for(pilot, lambda: not app.state.status.turn_running)
        await pilot.press(*"draft", "up")
        assert app.prompt.text == "second"
        await pilot.press("up")
        assert app.prompt.text == "first"
        await pilot.press("down", "down")
        assert app.prompt.text == "draft"
    lines = options.history_path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == ["first", "second"]
    again = app_for(make_rig(), app_options())
    async with again.run_test(size=SIZE) as pilot:
        await pilot.press("up")
        assert again.prompt.text == "second"


async def test_slash_completion_and_command(make_rig, app_options) -> None:
    rig = make_rig()
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("/")
        menu = app.query_one("#completion")
        await wait_for(pilot, lambda: menu.display and "/help" in screen_text(app))
        await pilot.press(*"mod")
        await wait_for(pilot, lambda: [c.value for c in menu.choices][:2] == ["/model ", "/mode "])
        await pilot.press("down", "tab")
        await wait_for(pilot, lambda: app.prompt.text == "/mode ")
        await pilot.press(*"plan", "enter")
        await wait_for(pilot, lambda: app.state.status.permission_mode == "plan")
        assert rig.model.requests == []  # a command, not a message


async def test_at_completes_workspace_paths_fuzzily(make_rig, app_options) -> None:
    rig = make_rig(Step(text="seen"))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"look at @appm")
        menu = app.query_one("#completion")
        await wait_for(pilot, lambda: bool(menu.choices))
        assert menu.choices[0].value == "@src/app_main.py "
        await pilot.press("enter")
        assert app.prompt.text == "look at @src/app_main.py "
        await pilot.press(*"please", "enter")
        await wait_for(pilot, lambda: len(rig.model.requests) == 1)
        assert "@src/app_main.py" in rig.model.requests[0].messages[-1]["content"]


async def test_a_large_paste_becomes_a_chip(make_rig, app_options) -> None:
    rig = make_rig(Step(text="got it"))
    app = app_for(rig, app_options())
    big = "\n".join(f"log line {i}" for i in range(40))
    async with app.run_test(size=SIZE) as pilot:
        app.prompt.post_message(Paste(big))
        await pilot.pause()
        assert app.prompt.text == "[Pasted text #1 +40 lines]"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(rig.model.requests) == 1)
        assert rig.model.requests[0].messages[-1]["content"] == big


async def test_model_picker_and_argument(make_rig, app_options) -> None:
    rig = make_rig()
    app = app_for(rig, app_options(models=("openai/gpt-4o", "anthropic/claude-sonnet-4-5")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/model", "enter")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.state.status.model == "openai/gpt-4o")
        await pilot.press(*"/model custom/thing", "enter")
        await wait_for(pilot, lambda: app.state.status.model == "custom/thing")
        assert rig.session.agent.settings.model == "custom/thing"


async def test_theme_picker_previews_reverts_and_remembers(make_rig, app_options) -> None:
    options = app_options()
    app = app_for(make_rig(), options)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "kode-dark"
        await pilot.press(*"/theme", "enter")
        await pilot.press("down")
        previewed = app.theme
        assert previewed != "kode-dark"
        await pilot.press("escape")
        assert app.theme == "kode-dark"
        await pilot.press(*"/theme kode-paper", "enter")
        await pilot.pause()
        assert app.theme == "kode-paper"
    assert json.loads(options.prefs_path.read_text())["theme"] == "kode-paper"
    again = app_for(make_rig(), app_options())
    async with again.run_test(size=SIZE):
        assert again.theme == "kode-paper"


async def test_user_themes_are_offered(make_rig, app_options, tmp_path) -> None:
    themes = tmp_path / "config" / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text('name = "my-theme"\nprimary = "#FF00FF"\ndark = false\n')
    app = app_for(make_rig(), app_options(theme="my-theme"))
    async with app.run_test(size=SIZE):
        assert app.theme == "my-theme" and "my-theme" in app.kode_themes


async def test_cost_and_export(make_rig, app_options, workspace) -> None:
    rig = make_rig(Step(text="An answer worth keeping."))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"q", "enter")
        await wait_for(pilot, lambda: not app.state.status.turn_running and len(app.state.root.items) >= 2)
        await pilot.press(*"/cost", "enter")
        await wait_for(pilot, lambda: "total:" in screen_text(app))
        await pilot.press(*"/export out.md", "enter")
        await wait_for(pilot, lambda: (workspace / "out.md").exists())
    exported = (workspace / "out.md").read_text()
    assert "An answer worth keeping." in exported and "## You" in exported


async def test_new_and_clear_start_a_fresh_session(make_rig, app_options) -> None:
    first = make_rig(Step(text="from the first session"))
    second = make_rig(Step(text="from the second session"))
    app = app_for(first, app_options(actions=FactoryActions(lambda: second.client)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: "from the first session" in screen_text(app))
        await pilot.press(*"/new", "enter")
        await wait_for(pilot, lambda: app.client is second.client)
        assert "from the first session" not in screen_text(app)
        await pilot.press(*"again", "enter")
        await wait_for(pilot, lambda: "from the second session" in screen_text(app))
    assert first.session.log.closed


async def test_resume_without_a_store_says_so(make_rig, app_options) -> None:
    app = app_for(make_rig(), app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/resume", "enter")
        assert isinstance(app.screen, PickerScreen)
        assert "No earlier sessions" in screen_text(app)
        await pilot.press("escape")


async def test_ctrl_t_toggles_thinking(app_options) -> None:
    client = ScriptedClient([
        ev.UserMessage(message_id="u1", text="why?"),
        ev.MessageCompleted(message_id="m1", text="Because.", thinking="secret reasoning"),
    ])
    app = KodeApp(client, options=app_options())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.query(ThinkingView)))
        assert "secret reasoning" not in screen_text(app) and "Thinking" in screen_text(app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert "secret reasoning" in screen_text(app)
