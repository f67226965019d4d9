"""Snapshots of the main screens (pytest-textual-snapshot; update with `--snapshot-update`).

Deterministic: fixed terminal size, animations and cursor blink off, a fixed clock, a fixed
branch and directory, and events with fixed ids, times and durations. The conversation is
recorded from a real session (scripted model, real tools) and then replayed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kode.core.permissions import PermissionMode
from kode.protocol import events as ev
from kode.protocol.common import AgentState, Usage
from kode.protocol.ops import SubmitMessage
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session
from kode.tui import AppOptions, KodeApp
from kode.tui.themes import discover_themes, shipped_theme_dirs

from .fakes import ScriptedClient
from .helpers import wait_for
from .test_subagents import subagent_events

SIZE = (100, 34)
THEMES = sorted(discover_themes(shipped_theme_dirs()).themes)


def options(**kwargs: object) -> AppOptions:
    defaults: dict[str, object] = {
        "cwd": Path("/home/dev/project"),
        "model": "anthropic/claude-sonnet-4-5",
        "branch": "main",
        "detect_branch": False,
        "theme_dirs": shipped_theme_dirs(),
        "animations": False,
        "clock": lambda: 1000.0,
        "list_paths": lambda: ["src/app.py", "src/app_test.py", "README.md"],
    }
    defaults.update(kwargs)
    return AppOptions(**defaults)  # type: ignore[arg-type]


def record_conversation(tmp: Path) -> list[ev.Event]:
    """A real session's events for: read a file, edit it (a diff), run a command, answer."""
    workspace = tmp / "ws"
    workspace.mkdir()
    (workspace / "greet.py").write_text("def greet(name):\n    return 'hello ' + name\n")
    model = ScriptedModel(
        Step(text="Let me look at `greet.py` first.", tool_calls=[("read_file", {"path": "greet.py"})]),
        Step(
            text="I'll switch it to an f-string.",
            tool_calls=[("edit_file", {"path": "greet.py", "edits": [{"old_text": "'hello ' + name", "new_text": "f\"hello {name}!\""}]})],
        ),
        Step(tool_calls=[("bash", {"command": "python -c 'import greet; print(greet.greet(\"kode\"))'"})]),
        Step(text="Done. `greet()` now uses an **f-string**:\n\n```python\ndef greet(name):\n    return f\"hello {name}!\"\n```"),
    )
    session = scripted_session(workspace, model, mode=PermissionMode.BYPASS, model_name="anthropic/claude-sonnet-4-5")

    async def run() -> list[ev.Event]:
        await session.submit(SubmitMessage(text="Make greet() use an f-string and check it works"))
        await session.wait_idle()
        return session.log.durable_events()

    events = asyncio.run(run())
    fixed: list[ev.Event] = []
    for event in events:
        update: dict[str, object] = {}
        if isinstance(event, ev.ToolCallFinished):
            update["duration"] = 0.4
            if event.display and "cwd" in event.display:
                update["display"] = {**event.display, "cwd": "."}
        if isinstance(event, ev.MessageCompleted):
            update["usage"] = Usage(input_tokens=24_000, output_tokens=350, cost_usd=0.0771)
        if isinstance(event, ev.TurnFinished):
            update["duration"] = 3.2
            update["usage"] = Usage(input_tokens=96_000, output_tokens=1_400, cost_usd=0.3084)
        if isinstance(event, ev.SessionStarted):
            update["cwd"] = "/home/dev/project"
        fixed.append(event.model_copy(update=update))
    return fixed


@pytest.fixture(scope="module")
def conversation(tmp_path_factory: pytest.TempPathFactory) -> list[ev.Event]:
    return record_conversation(tmp_path_factory.mktemp("snap"))


def settled(app: KodeApp, count: int):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_for(pilot, lambda: app.bridge is not None and app.bridge.received >= count)
        await pilot.pause(0.3)

    return run_before


def test_conversation_with_tool_calls_and_a_diff(snap_compare, conversation) -> None:
    """A finished turn: user message, streamed Markdown, a read_file card (output collapsed), an
    edit_file card with a green/red unified diff and +1 -1, a bash card, and the final answer."""
    app = KodeApp(ScriptedClient(conversation), options=options())
    assert snap_compare(app, terminal_size=(100, 50), run_before=settled(app, len(conversation)))


@pytest.mark.parametrize("theme", THEMES)
def test_every_shipped_theme(snap_compare, conversation, theme: str) -> None:
    """The same conversation in each shipped theme."""
    app = KodeApp(ScriptedClient(conversation), options=options(theme=theme))
    assert snap_compare(app, terminal_size=(100, 50), run_before=settled(app, len(conversation)))


def test_approval_modal(snap_compare) -> None:
    """The approval modal over the conversation: tool, summary, the exact diff, three answers
    (allow once / allow for session with the rule it adds / deny with a reason), key hints."""
    diff = "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,3 +1,3 @@\n import os\n-DEBUG = True\n+DEBUG = False\n print(os.getcwd())\n"
    events: list[ev.Event] = [
        ev.UserMessage(message_id="u1", text="Turn debugging off"),
        ev.TurnStarted(turn_id="t1", model="anthropic/claude-sonnet-4-5"),
        ev.ToolCallRequested(call_id="c1", name="edit_file", arguments={}, summary="src/app.py (1 edit)"),
        ev.AgentStateChanged(state=AgentState.WAITING_FOR_APPROVAL, detail="edit_file"),
        ev.ApprovalRequested(
            request_id="r1", call_id="c1", tool_name="edit_file", kind="edit", summary="src/app.py (1 edit)",
            details=diff, suggested_rule="edit(src/app.py)",
        ),
    ]
    app = KodeApp(ScriptedClient(events), options=options())
    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, len(events)))


def test_bash_approval_with_deny_reason(snap_compare) -> None:
    """A command approval after pressing 3: the reason box is open for the model's explanation."""
    events: list[ev.Event] = [
        ev.ToolCallRequested(call_id="c1", name="bash", arguments={}, summary="rm -rf build"),
        ev.ApprovalRequested(
            request_id="r1", call_id="c1", tool_name="bash", kind="shell", summary="rm -rf build",
            details="rm -rf build && make", suggested_rule="bash(rm -rf build*)",
        ),
    ]
    app = KodeApp(ScriptedClient(events), options=options())

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settled(app, len(events))(pilot)
        await pilot.press("3", *"keep the build")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_subagent_panes(snap_compare) -> None:
    """Two sub-agents in the side panel: one completed (tool card, answer, tokens, cost), one
    streaming; the parent shows a card for each."""
    events = subagent_events()
    app = KodeApp(ScriptedClient(events), options=options())
    assert snap_compare(app, terminal_size=(130, 36), run_before=settled(app, len(events)))


def test_help_screen(snap_compare) -> None:
    """F1: every binding, the prompt's keys, dialog keys and every slash command."""
    app = KodeApp(ScriptedClient([]), options=options())
    assert snap_compare(app, press=["f1"], terminal_size=(100, 56))


def test_slash_completion(snap_compare) -> None:
    """Typing "/" opens the command menu above the prompt."""
    app = KodeApp(ScriptedClient([]), options=options())
    assert snap_compare(app, press=["/"], terminal_size=SIZE)


def test_status_line_and_mode(snap_compare) -> None:
    """Status line after a turn: model, plan mode, context %, tokens, cost, branch."""
    events: list[ev.Event] = [
        ev.SettingsChanged(model="openai/gpt-4o", permission_mode="plan"),
        ev.UserMessage(message_id="u1", text="What does this project do?"),
        ev.MessageCompleted(message_id="m1", text="It is a *terminal coding assistant*.", usage=Usage(input_tokens=150_000, output_tokens=1_200, cost_usd=0.4321)),
    ]
    app = KodeApp(ScriptedClient(events), options=options())
    assert snap_compare(app, terminal_size=SIZE, run_before=settled(app, len(events)))
