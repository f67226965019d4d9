"""Sub-agent panes: each sub-agent's stream, tool calls, status and cost in its own pane; focus,
collapse, close, reopen. From scripted events, and live from a real session whose model forks."""

from __future__ import annotations

from kode.protocol import events as ev
from kode.protocol.common import AgentState, TurnStatus, Usage
from kode.tui import KodeApp
from kode.tui.widgets.agents import AgentHeader, AgentPane
from kode.tui.widgets.message import SubagentCardView
from kode.tui.widgets.tool_card import ToolCard

from .fakes import ScriptedClient
from .helpers import wait_for
from .screen import screen_text


def sub(agent_id: str, event: ev.Event) -> ev.Event:
    return event.model_copy(update={"agent_id": agent_id, "parent_id": "root"})


def subagent_events() -> list[ev.Event]:
    return [
        ev.UserMessage(message_id="u1", text="Find the tests and the docs"),
        ev.TurnStarted(turn_id="t1", model="scripted/test"),
        ev.SubagentSpawned(child_id="agent_tests", agent_type="explore", goal="Find every test file"),
        ev.SubagentSpawned(child_id="agent_docs", agent_type="explore", goal="Summarise the docs folder"),
        sub("agent_tests", ev.AgentStateChanged(state=AgentState.RUNNING_TOOL, detail="glob")),
        sub("agent_tests", ev.ToolCallRequested(call_id="c1", name="glob", arguments={"pattern": "tests/**"}, summary="tests/**")),
        sub("agent_tests", ev.ToolCallStarted(call_id="c1", name="glob")),
        sub("agent_tests", ev.ToolCallFinished(call_id="c1", name="glob", status="ok", output="tests/a.py\ntests/b.py", duration=0.2)),
        sub("agent_tests", ev.MessageCompleted(message_id="m1", text="Found **2** test files.", usage=Usage(input_tokens=900, output_tokens=100, cost_usd=0.0123))),
        sub("agent_docs", ev.TextDelta(message_id="m2", text="Reading the docs")),
        ev.SubagentFinished(child_id="agent_tests", status=TurnStatus.COMPLETED, result="tests/a.py, tests/b.py"),
    ]


async def test_subagents_get_panes_with_stream_tools_status_and_cost(app_options) -> None:
    app = KodeApp(ScriptedClient(subagent_events()), options=app_options())
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.agent_panel.panes) == 2)
        panel = app.agent_panel
        assert panel.display
        tests_pane = panel.panes["agent_tests"]
        assert isinstance(tests_pane, AgentPane)
        assert [type(w) for w in tests_pane.transcript.views.values()][:1] == [ToolCard]
        assert "Found 2 test files." in screen_text(app)
        header = str(tests_pane.header.render())
        assert "explore" in header and "completed" in header and "$0.0123" in header and "1.0k tok" in header
        docs_header = str(panel.panes["agent_docs"].header.render())
        assert "explore" in docs_header and "completed" not in docs_header  # still streaming
        cards = list(app.query(SubagentCardView))
        assert len(cards) == 2 and "tests/a.py, tests/b.py" in str(cards[0].render())
        assert "Reading the docs" in screen_text(app)


async def test_panes_focus_collapse_close_and_reopen(app_options) -> None:
    app = KodeApp(ScriptedClient(subagent_events()), options=app_options())
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.agent_panel.panes) == 2)
        await pilot.press("f2")
        assert isinstance(app.focused, AgentHeader)
        pane = app.agent_panel.panes["agent_tests"]
        assert app.focused is pane.header
        await pilot.press("c")
        assert pane.collapsed and not pane.transcript.display
        await pilot.press("enter")
        assert not pane.collapsed
        await pilot.press("x")
        await pilot.pause()
        assert "agent_tests" not in app.agent_panel.panes and "agent_tests" in app.agent_panel.closed
        await pilot.press("f2")
        assert app.focused is app.agent_panel.panes["agent_docs"].header
        await pilot.press("f2")
        assert app.focused is app.prompt
        app.action_reopen_agents()
        await wait_for(pilot, lambda: "agent_tests" in app.agent_panel.panes)


async def test_live_subagent_events_update_their_pane(app_options) -> None:
    client = ScriptedClient(subagent_events())
    app = KodeApp(client, options=app_options())
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.agent_panel.panes) == 2)
        client.push(sub("agent_docs", ev.TextDelta(message_id="m2", text=" and writing a summary")))
        await wait_for(pilot, lambda: "and writing a summary" in screen_text(app))
        client.push(ev.SubagentFinished(child_id="agent_docs", status=TurnStatus.FAILED, result="gave up"))
        await wait_for(pilot, lambda: "failed" in str(app.agent_panel.panes["agent_docs"].header.render()))


async def test_live_children_of_a_real_session_get_their_panes(app_options, workspace) -> None:
    from kode.client.inprocess import InProcessClient
    from kode.testing.scripted_model import ScriptedModel, Step
    from kode.testing.scripted_session import scripted_session

    def respond(request):  # type: ignore[no-untyped-def]
        first = next(str(m["content"]) for m in request.messages if m["role"] == "user")
        if "## Your goal" in first:
            goal = first.split("## Your goal\n", 1)[1].split("\n", 1)[0]
            return Step(text=f"Report on {goal}: all good.", delay=0.05, chunks=4)
        if request.messages[-1]["role"] == "user":
            return Step(tool_calls=[("task", {"goal": "the parser"}), ("task", {"goal": "the renderer"})])
        return Step(text="Both children reported.")

    session = scripted_session(workspace, ScriptedModel(default=respond))
    session.start()
    app = KodeApp(InProcessClient(session), options=app_options())
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press(*"check both parts", "enter")
        await wait_for(pilot, lambda: "Both children reported." in screen_text(app), timeout=15)
        panes = app.agent_panel.panes
        assert len(panes) == 2
        headers = [str(pane.header.render()) for pane in panes.values()]
        assert all("explore" in h and "completed" in h for h in headers), headers
        text = screen_text(app)
        assert "Report on the parser: all good." in text and "Report on the renderer: all good." in text
