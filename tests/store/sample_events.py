"""Sample events for the store tests: every durable type, awkward text included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kode.protocol import events as ev
from kode.protocol.common import (
    AgentState,
    ErrorInfo,
    ErrorKind,
    ToolCallInfo,
    TurnStatus,
    Usage,
)
from kode.protocol.events import Event

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def conversation(session_id: str, *, start: int = 1, turns: int = 1) -> list[Event]:
    """Every durable event type, seqs from `start` with gaps where deltas would have been."""
    out: list[Event] = []
    seq = start

    def add(event: Event) -> None:
        nonlocal seq
        out.append(event.model_copy(update={"session_id": session_id, "seq": seq, "time": T0 + timedelta(seconds=seq)}))
        seq += 2  # the odd seqs went to live-only deltas

    if start == 1:
        add(ev.SessionStarted(cwd="/work/ü", model="m-1", permission_mode="default", kode_version="0.1"))
    for n in range(turns):
        add(ev.UserMessage(message_id=f"u{n}", text='héllo\n"quoted" \\ 🐍 \u2028'))
        add(ev.TurnStarted(turn_id=f"t{n}", model="m-1"))
        call = ToolCallInfo(id=f"c{n}", name="read", arguments='{"path": "a.py"}')
        usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=5, cost_usd=0.0012)
        add(ev.MessageCompleted(message_id=f"m{n}", text="ok", thinking="hmm", tool_calls=[call], usage=usage))
        add(ev.ToolCallRequested(call_id=f"c{n}", name="read", arguments={"path": "a.py", "n": [1, 2.5, None]}))
        add(ev.ApprovalRequested(request_id=f"r{n}", call_id=f"c{n}", tool_name="read", kind="read", summary="s"))
        add(ev.ApprovalResolved(request_id=f"r{n}", call_id=f"c{n}", decision="allow_once"))
        add(ev.ToolCallStarted(call_id=f"c{n}", name="read"))
        add(ev.ToolCallFinished(call_id=f"c{n}", name="read", status="ok", output="x" * 50, display={"k": 1.5}))
        add(ev.AgentStateChanged(state=AgentState.IDLE))
        add(ev.MessageCompleted(message_id=f"m{n}b", text="done", usage=usage))
        add(ev.TurnFinished(turn_id=f"t{n}", status=TurnStatus.COMPLETED, duration=1.25, usage=usage + usage))
    add(ev.ErrorEvent(error=ErrorInfo(kind=ErrorKind.RATE_LIMIT, message="slow down", retryable=True)))
    add(ev.SettingsChanged(model="m-2", permission_mode="plan"))
    add(ev.SubagentSpawned(agent_id="root", child_id="a1", agent_type="explore", goal="look"))
    add(ev.SubagentFinished(child_id="a1", status=TurnStatus.COMPLETED, usage=Usage(input_tokens=7)))
    return out


def user_message(session_id: str, seq: int, text: str = "hi") -> Event:
    return ev.UserMessage(session_id=session_id, seq=seq, message_id=f"u{seq}", text=text, time=T0)
