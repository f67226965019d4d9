"""Pilot tests of the conversation against a real session with a scripted model: messages,
streaming Markdown, tool cards with diffs and output, status line, queued messages, windowing."""

from __future__ import annotations

from kode.protocol import events as ev
from kode.testing.scripted_model import Step
from kode.tui.state import AssistantItem, ToolItem
from kode.tui.widgets.message import AssistantMessageView, UserMessageView
from kode.tui.widgets.tool_card import ToolCard

from .fakes import ScriptedClient
from .helpers import SIZE, app_for, wait_for
from .screen import screen_text

EDIT = ("edit_file", {"path": "hello.py", "edits": [{"old_text": "'hello'", "new_text": "'hi there'"}]})


async def test_message_answer_and_status(make_rig, app_options) -> None:
    rig = make_rig(Step(text="Hello **there**, I am kode.", chunks=6))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hi", "enter")
        await wait_for(pilot, lambda: not app.state.status.turn_running and app.query(AssistantMessageView))
        text = screen_text(app)
        assert "› hi" in text and "Hello there, I am kode." in text
        assert "scripted/test" in text and "mode: default" in text and "⎇ feature/tui" in text
        assert app.query_one(UserMessageView).item_key in app.transcript.views
        assert rig.model.requests[0].messages[-1]["content"] == "hi"


async def test_tool_calls_show_as_cards_with_diff_and_collapsed_output(make_rig, app_options) -> None:
    rig = make_rig(
        Step(text="Reading.", tool_calls=[("read_file", {"path": "hello.py"})]),
        Step(text="Editing.", tool_calls=[EDIT]),
        Step(text="Done."),
    )
    app = app_for(rig, app_options(permission_mode="accept-edits"))
    rig.session.policy.mode = type(rig.session.policy.mode)("accept-edits")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"change greet", "enter")
        await wait_for(pilot, lambda: not app.state.status.turn_running and len(app.query(ToolCard)) == 2)
        read_card, edit_card = app.query(ToolCard)
        assert read_card.item.status == "ok" and edit_card.item.diff
        text = screen_text(app)
        assert "✓ read_file  hello.py" in text and "▶ Output · 2 lines" in text
        assert "-    return 'hello'" in text and "+    return 'hi there'" in text and "+1 -1" in text
        # the output is collapsed until asked for; ctrl+o toggles the latest finished card with output
        await pilot.click(read_card.query_one("CollapsibleTitle"))
        await pilot.pause()
        assert "def greet():" in screen_text(app).split("read_file", 1)[1]
    assert (rig.workspace / "hello.py").read_text().endswith("'hi there'\n")


async def test_streaming_updates_in_place_without_rebuilding(make_rig, app_options) -> None:
    text = "# Title\n\n" + " ".join(f"word{i}" for i in range(300))
    rig = make_rig(Step(text=text, chunks=60, delay=0.002))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "enter")
        await wait_for(pilot, lambda: bool(app.query(AssistantMessageView)))
        view = app.query_one(AssistantMessageView)
        await wait_for(pilot, lambda: not app.state.status.turn_running, timeout=10)
        assert app.query_one(AssistantMessageView) is view  # same widget, updated in place
        item = app.state.root.items[-1]
        assert isinstance(item, AssistantItem) and item.text == text and not item.streaming
        assert "word299" in screen_text(app)


async def test_bash_output_and_exit_code(make_rig, app_options) -> None:
    rig = make_rig(Step(tool_calls=[("bash", {"command": "echo out; exit 3"})]), Step(text="It failed."))
    rig.session.policy.mode = type(rig.session.policy.mode)("bypass")
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "enter")
        await wait_for(pilot, lambda: not app.state.status.turn_running and bool(app.query(ToolCard)))
        card = app.query_one(ToolCard)
        assert card.item.exit_code == 3
        assert "exit 3" in screen_text(app)


async def test_messages_typed_during_a_turn_are_queued(make_rig, app_options) -> None:
    rig = make_rig(Step(text="slow answer", chunks=11, delay=0.1), Step(text="second answer"))
    app = app_for(rig, app_options())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "enter")
        await wait_for(pilot, lambda: app.state.status.turn_running)
        await pilot.press("b", "enter")
        assert app.queued == ["b"]
        assert "1 queued" in screen_text(app)
        await wait_for(pilot, lambda: len(rig.model.requests) == 2 and not app.state.status.turn_running, timeout=10)
        assert "second answer" in screen_text(app)


async def test_long_transcripts_are_windowed(app_options) -> None:
    events: list[ev.Event] = []
    for i in range(60):
        events.append(ev.UserMessage(message_id=f"u{i}", text=f"question {i}"))
        events.append(ev.MessageCompleted(message_id=f"m{i}", text=f"answer {i}"))
    app = __import__("kode.tui", fromlist=["KodeApp"]).KodeApp(ScriptedClient(events), options=app_options(window=40))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.state.root.items) == 120)
        transcript = app.transcript
        assert len(transcript.views) == 40 and transcript.hidden_count == 80
        assert "80 earlier items" in "".join(str(w.render()) for w in transcript.query("EarlierMarker"))
        await transcript.show_earlier(20)
        await pilot.pause()
        assert transcript.hidden_count == 60 and len(transcript.views) == 60
        assert "m79" not in transcript.views or True


async def test_tool_card_elapsed_time_ticks(app_options) -> None:
    now = [100.0]
    client = ScriptedClient([
        ev.ToolCallRequested(call_id="c1", name="bash", arguments={"command": "sleep 9"}, summary="sleep 9"),
        ev.ToolCallStarted(call_id="c1", name="bash"),
    ])
    app = __import__("kode.tui", fromlist=["KodeApp"]).KodeApp(client, options=app_options(clock=lambda: now[0]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.query(ToolCard)))
        now[0] = 107.0
        app._tick()
        await pilot.pause()
        assert "7.0s" in screen_text(app)
        item = app.state.root.items[0]
        assert isinstance(item, ToolItem) and item.status == "running"
