"""The transcript is a projection of durable events, always valid for a provider."""

from __future__ import annotations

from kode.core.loop_guard import RepeatGuard
from kode.core.transcript import Transcript
from kode.protocol import events as ev
from kode.protocol.common import ToolCallInfo, TurnStatus
from kode.protocol.text import inert


def test_projection_and_cancelled_calls_get_results() -> None:
    calls = [ToolCallInfo(id="c1", name="bash", arguments='{"command":"ls"}'), ToolCallInfo(id="c2", name="bash", arguments="{}")]
    events = [
        ev.UserMessage(message_id="u", text="hi"),
        ev.TextDelta(message_id="m", text="ignored: live only"),
        ev.MessageCompleted(message_id="m", text="", tool_calls=calls),
        ev.ToolCallFinished(call_id="c1", name="bash", status="ok", output="a.txt"),
        ev.TurnFinished(turn_id="t", status=TurnStatus.CANCELLED, duration=0.1),
        ev.UserMessage(message_id="u2", text="again"),
        ev.UserMessage(message_id="x", text="other agent", agent_id="sub1"),
    ]
    messages = Transcript.from_events(events).messages
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "user"]
    assert messages[1]["content"] is None and len(messages[1]["tool_calls"]) == 2
    assert messages[2] == {"role": "tool", "tool_call_id": "c1", "content": "a.txt"}
    assert messages[3]["tool_call_id"] == "c2" and "cancelled" in messages[3]["content"]


def test_empty_assistant_message_is_skipped() -> None:
    t = Transcript.from_events([ev.UserMessage(message_id="u", text="hi"), ev.MessageCompleted(message_id="m", text="")])
    assert [m["role"] for m in t.messages] == ["user"]


def test_repeat_guard_counts_only_consecutive_identical_calls() -> None:
    guard = RepeatGuard(warn_at=3, stop_at=6)
    verdicts = [guard.observe("bash", {"command": "ls"}) for _ in range(6)]
    assert verdicts == ["ok", "ok", "warn", "warn", "warn", "stop"]
    guard = RepeatGuard()
    pattern = [guard.observe("bash", {"command": "pytest"}) if i % 2 else guard.observe("edit_file", {"i": i}) for i in range(12)]
    assert set(pattern) == {"ok"}


def test_inert_neutralises_escape_sequences() -> None:
    hostile = "ok\x1b]52;c;ZXZpbA==\x07 \x1b]8;;http://127.0.0.1/\x1b\\link\x1b]8;;\x1b\\ \x1b[2J\x9b31m\x00end"
    shown = inert(hostile)
    assert not any(ord(ch) < 0x20 and ch not in "\n\t" for ch in shown)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in shown)
    assert "ZXZpbA==" in shown and "end" in shown, "content stays visible"
