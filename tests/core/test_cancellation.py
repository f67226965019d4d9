"""Cancelling a turn: the stream stops, tools' process groups die, history stays consistent."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from kode.core.permissions import PermissionMode
from kode.core.transcript import Transcript
from kode.protocol import events as ev
from kode.protocol.common import TurnStatus
from kode.protocol.ops import Cancel
from kode.testing.scripted_model import Step


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_cancel_mid_stream_records_partial_message_and_next_turn_works(make_harness) -> None:
    h = make_harness(Step("one two three four five six", delay=0.1, chunks=6), Step("fresh answer"))
    deltas = 0

    async def on_event(event) -> None:
        nonlocal deltas
        if isinstance(event, ev.TextDelta):
            deltas += 1
            if deltas == 2:
                await h.session.submit(Cancel())

    finished = await h.turn("talk", on_event=on_event)
    assert finished.status is TurnStatus.CANCELLED
    partial = h.of(ev.MessageCompleted)[-1]
    assert partial.finish_reason == "cancelled" and 0 < len(partial.text) < len("one two three four five six")
    assert h.of(ev.AgentStateChanged)[-1].state == "cancelled"
    again = await h.turn("again")
    assert again.status is TurnStatus.COMPLETED and again.result == "fresh answer"


async def test_cancel_kills_the_running_commands_whole_process_group(make_harness, workspace) -> None:
    pid_file = workspace / "pids"
    command = f"sleep 300 & echo $! >> {pid_file}; (sleep 300 & echo $! >> {pid_file}; wait) & echo $$ >> {pid_file}; wait"
    h = make_harness(Step(tool_calls=[("bash", {"command": command})]), Step("after"), mode=PermissionMode.BYPASS)

    async def on_event(event) -> None:
        if isinstance(event, ev.ToolCallStarted):
            for _ in range(100):
                if pid_file.exists() and len(pid_file.read_text().split()) >= 3:
                    break
                await asyncio.sleep(0.05)
            await h.session.submit(Cancel())

    finished = await h.turn("run", on_event=on_event)
    assert finished.status is TurnStatus.CANCELLED
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) >= 3
    await asyncio.sleep(0.2)
    assert [p for p in pids if _alive(p)] == [], "a child of the cancelled command survived"
    result = h.of(ev.ToolCallFinished)[-1]
    assert result.status == "cancelled"
    # the history sent next time is valid: every tool call has exactly one result
    messages = Transcript.from_events(h.session.log.durable_events()).messages
    call_ids = [c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    result_ids = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert sorted(call_ids) == sorted(result_ids)


async def test_cancel_while_waiting_for_approval_resolves_it(make_harness) -> None:
    h = make_harness(Step(tool_calls=[("bash", {"command": "echo hi"})]), Step("x"))

    async def on_event(event) -> None:
        if isinstance(event, ev.ApprovalRequested):
            await h.session.submit(Cancel())

    finished = await h.turn("go", on_event=on_event)
    assert finished.status is TurnStatus.CANCELLED
    resolved = h.of(ev.ApprovalResolved)
    assert len(resolved) == 1 and resolved[0].by == "cancel" and resolved[0].decision == "deny"
    assert h.session.approvals.pending == []
    assert os.getpid()  # the test process itself is untouched
