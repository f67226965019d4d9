"""The plain-Python parts of the TUI: conversation state, history, completion, pastes, themes,
sanitising, git branch, status text. No Textual app is started here."""

from __future__ import annotations

from pathlib import Path

import pytest

from kode.protocol import events as ev
from kode.protocol.common import AgentState, ErrorInfo, ErrorKind, TurnStatus, Usage
from kode.protocol.text import inert, one_line
from kode.tui.commands import complete_slash, parse_slash
from kode.tui.completion import (
    completion_target,
    fuzzy_paths,
    fuzzy_score,
    list_workspace,
)
from kode.tui.export import conversation_markdown
from kode.tui.gitinfo import git_branch
from kode.tui.history import PromptHistory, history_file
from kode.tui.paste import PasteStore
from kode.tui.prefs import TuiPrefs
from kode.tui.state import (
    AssistantItem,
    ConversationState,
    NoticeItem,
    SubagentItem,
    ToolItem,
    UserItem,
)
from kode.tui.themes import (
    ThemeFileError,
    discover_themes,
    load_theme_file,
    shipped_theme_dirs,
)
from kode.tui.widgets.status_line import context_percent, human_tokens, status_content


def fold(*events: ev.Event, clock: float = 100.0) -> ConversationState:
    state = ConversationState(clock=lambda: clock)
    for event in events:
        state.apply(event)
    return state


# -- conversation state -------------------------------------------------------------------------


def test_streaming_text_and_thinking_fold_into_one_assistant_item() -> None:
    state = ConversationState()
    first = state.apply(ev.TextDelta(message_id="m1", text="Hel"))
    assert [type(i) for i in first.added] == [AssistantItem]
    second = state.apply(ev.TextDelta(message_id="m1", text="lo"))
    assert second.added == [] and len(second.changed) == 1
    state.apply(ev.ThinkingDelta(message_id="m1", text="hmm"))
    item = state.root.items[0]
    assert isinstance(item, AssistantItem) and item.text == "Hello" and item.thinking == "hmm" and item.streaming


def test_message_completed_is_authoritative_and_counts_usage() -> None:
    state = fold(
        ev.TextDelta(message_id="m1", text="draft"),
        ev.MessageCompleted(message_id="m1", text="final", usage=Usage(input_tokens=1200, output_tokens=30, cost_usd=0.01)),
    )
    item = state.root.items[0]
    assert isinstance(item, AssistantItem) and item.text == "final" and not item.streaming
    assert state.status.context_tokens == 1200
    assert state.status.usage.cost_usd == pytest.approx(0.01)


def test_a_message_that_only_calls_tools_leaves_no_empty_bubble() -> None:
    state = fold(ev.MessageCompleted(message_id="m1", text="", usage=Usage(input_tokens=5)))
    assert state.root.items == []


def test_tool_call_lifecycle_updates_one_card_in_place() -> None:
    state = fold(
        ev.ToolCallRequested(call_id="c1", name="bash", arguments={"command": "ls"}, summary="ls"),
        ev.ToolCallStarted(call_id="c1", name="bash"),
        ev.ToolCallOutput(call_id="c1", chunk="a\n"),
        ev.ToolCallOutput(call_id="c1", chunk="b\n"),
        clock=50.0,
    )
    (card,) = state.root.items
    assert isinstance(card, ToolItem) and card.status == "running" and card.output == "a\nb\n"
    assert card.elapsed(52.5) == pytest.approx(2.5)
    state.apply(ev.ToolCallFinished(call_id="c1", name="bash", status="ok", output="a\nb", display={"exit_code": 0}, duration=1.25))
    assert card.status == "ok" and card.output == "a\nb" and card.exit_code == 0 and card.elapsed(99) == 1.25
    assert len(state.root.items) == 1


def test_diff_display_is_exposed() -> None:
    state = fold(
        ev.ToolCallRequested(call_id="c1", name="edit_file", arguments={}, summary="a.py"),
        ev.ToolCallFinished(call_id="c1", name="edit_file", status="ok", output="ok", display={"diff": "--- a\n+++ b\n", "path": "a.py"}),
    )
    assert state.root.items[0].diff.startswith("--- a")  # type: ignore[union-attr]


def test_approvals_open_and_close_from_anywhere() -> None:
    state = ConversationState()
    state.apply(ev.ToolCallRequested(call_id="c1", name="bash", arguments={}, summary="rm x"))
    opened = state.apply(ev.ApprovalRequested(request_id="r1", call_id="c1", tool_name="bash", kind="shell", summary="rm x"))
    assert [r.request_id for r in opened.approvals_opened] == ["r1"] and "r1" in state.pending_approvals
    assert state.root.items[0].status == "approval"  # type: ignore[union-attr]
    closed = state.apply(ev.ApprovalResolved(request_id="r1", call_id="c1", decision="deny", reason="no", by="user"))
    assert closed.approvals_closed == ["r1"] and not state.pending_approvals
    assert state.root.items[0].decision == "deny: no"  # type: ignore[union-attr]


def test_retrying_voids_the_discarded_message() -> None:
    state = fold(
        ev.TextDelta(message_id="m1", text="partial"),
        ev.Retrying(attempt=1, max_attempts=4, delay=1.0, error=ErrorInfo(kind=ErrorKind.RATE_LIMIT, message="429"), discarded_message_id="m1"),
    )
    assert [type(i) for i in state.root.items] == [NoticeItem]


def test_turn_and_settings_drive_the_status() -> None:
    state = fold(
        ev.SessionStarted(cwd="/w", model="m", permission_mode="default", kode_version="0"),
        ev.TurnStarted(turn_id="t", model="m"),
        ev.AgentStateChanged(state=AgentState.RUNNING_TOOL, detail="bash"),
        ev.SettingsChanged(model="other", permission_mode="plan"),
    )
    assert state.status.turn_running and state.status.agent_state == "running_tool"
    assert (state.status.model, state.status.permission_mode) == ("other", "plan")
    update = state.apply(ev.TurnFinished(turn_id="t", status=TurnStatus.CANCELLED, duration=1))
    assert update.turn_finished and not state.status.turn_running
    assert isinstance(state.root.items[-1], NoticeItem)


def test_subagents_get_their_own_view_and_a_card_in_the_parent() -> None:
    state = fold(
        ev.SubagentSpawned(child_id="a1", agent_type="explore", goal="find tests"),
        ev.TextDelta(agent_id="a1", parent_id="root", message_id="m9", text="looking"),
        ev.MessageCompleted(agent_id="a1", parent_id="root", message_id="m9", text="looking", usage=Usage(output_tokens=7, cost_usd=0.5)),
        ev.SubagentFinished(child_id="a1", status=TurnStatus.COMPLETED, result="3 files"),
    )
    child = state.agents["a1"]
    assert child.agent_type == "explore" and child.status == "completed" and child.usage.cost_usd == 0.5
    assert [type(i) for i in child.items] == [AssistantItem]
    card = state.root.items[0]
    assert isinstance(card, SubagentItem) and card.status == "completed" and card.result == "3 files"
    assert state.status.context_tokens == 0  # a sub-agent's context is not the root's


def test_user_messages_replay_once() -> None:
    event = ev.UserMessage(message_id="u1", text="hi")
    state = fold(event, event)
    assert [i.text for i in state.root.items if isinstance(i, UserItem)] == ["hi"]


def test_export_writes_markdown() -> None:
    state = fold(
        ev.UserMessage(message_id="u1", text="fix it"),
        ev.MessageCompleted(message_id="m1", text="Done."),
        ev.ToolCallRequested(call_id="c1", name="edit_file", arguments={}, summary="a.py"),
        ev.ToolCallFinished(call_id="c1", name="edit_file", status="ok", output="ok", display={"diff": "+x\n"}),
    )
    text = conversation_markdown(state)
    assert "## You\n\nfix it" in text and "## Assistant\n\nDone." in text and "```diff\n+x\n```" in text


# -- prompt helpers -----------------------------------------------------------------------------


def test_history_walks_back_and_forth_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    history = PromptHistory(path)
    for text in ("one", "two", "two", "multi\nline"):
        history.add(text)
    assert history.entries == ["one", "two", "multi\nline"]
    assert history.previous("draft") == "multi\nline"
    assert history.previous("") == "two"
    assert history.previous("") == "one"
    assert history.previous("") is None
    assert history.next() == "two"
    assert history.next() == "multi\nline"
    assert history.next() == "draft"
    assert PromptHistory(path).entries == ["one", "two", "multi\nline"]


def test_history_file_is_per_project(tmp_path: Path) -> None:
    assert history_file(tmp_path, tmp_path / "a") != history_file(tmp_path, tmp_path / "b")


def test_slash_commands_parse_and_complete() -> None:
    command, argument = parse_slash("/mode plan")  # type: ignore[misc]
    assert command.name == "mode" and argument == "plan"
    assert parse_slash("/nope") is None and parse_slash("hello /mode") is None
    assert [c.name for c in complete_slash("m")][:2] == ["model", "mode"]  # then names containing "m"
    assert [c.name for c in complete_slash("exp")] == ["export"]


def test_completion_targets() -> None:
    assert completion_target("/mo", 3).kind == "slash"  # type: ignore[union-attr]
    target = completion_target("look at @src/ap", 15)
    assert target is not None and target.kind == "path" and target.query == "src/ap" and target.start == 8
    assert completion_target("plain words", 11) is None


def test_fuzzy_paths_prefer_file_names_and_runs() -> None:
    paths = ["src/app_main.py", "docs/appendix.md", "tests/test_app.py", "src/a/p/p.py"]
    assert fuzzy_paths("appmain", paths)[0] == "src/app_main.py"
    assert fuzzy_score("xyz", "src/app.py") is None
    assert fuzzy_paths("tapp", paths)[0] == "tests/test_app.py"


def test_workspace_listing_skips_vcs_dirs(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("x")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("")
    assert sorted(list_workspace(tmp_path)) == ["src/", "src/a.py"]


def test_large_pastes_become_chips_and_expand() -> None:
    store = PasteStore(lines=3, chars=100)
    assert not store.is_large("short")
    big = "\n".join(f"line {i}" for i in range(10))
    chip = store.chip(big)
    assert chip == "[Pasted text #1 +10 lines]"
    assert store.expand(f"see {chip} please") == f"see {big} please"


# -- themes, prefs, git, sanitising, status -------------------------------------------------------


def test_shipped_themes_load() -> None:
    found = discover_themes(shipped_theme_dirs())
    assert not found.errors
    assert len(found.themes) >= 6
    assert {"kode-dark", "kode-light", "kode-high-contrast"} <= set(found.themes)
    assert any(not theme.dark for theme in found.themes.values())


def test_user_themes_override_and_bad_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "kode-dark"\nprimary = "#FF0000"\ndark = true\n')
    (tmp_path / "broken.toml").write_text('primary = "not a colour"\n')
    (tmp_path / "typo.toml").write_text('primry = "#FF0000"\n')
    found = discover_themes([*shipped_theme_dirs(), tmp_path])
    assert found.themes["kode-dark"].primary == "#FF0000"
    assert len(found.errors) == 2
    with pytest.raises(ThemeFileError):
        load_theme_file(tmp_path / "typo.toml")


def test_prefs_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "tui-state.json"
    TuiPrefs(theme="kode-paper").save(path)
    assert TuiPrefs.load(path).theme == "kode-paper"
    assert TuiPrefs.load(tmp_path / "missing.json").theme == ""


def test_git_branch_from_head(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "sub").mkdir()
    assert git_branch(tmp_path / "sub") == "main"
    (tmp_path / ".git" / "HEAD").write_text("0123456789abcdef\n")
    assert git_branch(tmp_path) == "01234567"
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {tmp_path / 'gd'}\n")
    (tmp_path / "gd").mkdir()
    (tmp_path / "gd" / "HEAD").write_text("ref: refs/heads/feature\n")
    assert git_branch(worktree) == "feature"


def test_escape_sequences_are_made_inert() -> None:
    hostile = "a\x1b]52;c;aGVsbG8=\x07b\x1b]8;;http://127.0.0.1/evil\x1b\\link\x1b]8;;\x1b\\\x1b[2J\x9b31m\r"
    clean = inert(hostile)
    assert not any(ord(ch) < 0x20 and ch not in "\n\t" for ch in clean)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in clean)
    assert "␛]52;c;aGVsbG8=␇b" in clean
    assert one_line("x\n\ny", 10) == "x y"


def test_status_text() -> None:
    state = fold(
        ev.SessionStarted(cwd="/w", model="openai/gpt-4o", permission_mode="plan", kode_version="0"),
        ev.MessageCompleted(message_id="m", text="x", usage=Usage(input_tokens=150_000, output_tokens=2_000, cost_usd=0.1234)),
    )
    assert context_percent(state.status, 200_000) == 75
    assert human_tokens(152_000) == "152.0k"
    text = status_content(state.status, branch="main", window=200_000).plain
    for part in ("openai/gpt-4o", "mode: plan", "ctx 75%", "152.0k tok", "$0.1234", "⎇ main"):
        assert part in text
