"""Protocol: every op and event survives a JSON round trip and validates against the published schema."""

from __future__ import annotations

import json
import typing

import jsonschema
import pytest
from pydantic import ValidationError

from kode.protocol import (
    dump_event,
    dump_op,
    ops,
    parse_event,
    parse_op,
    protocol_schema,
)
from kode.protocol import events as ev
from kode.protocol.common import ErrorInfo, ErrorKind, ToolCallInfo, TurnStatus, Usage

SAMPLES: list[ev.EventBase] = [
    ev.SessionStarted(cwd="/w", model="m", permission_mode="default", kode_version="0"),
    ev.UserMessage(message_id="m1", text="hi"),
    ev.TurnStarted(turn_id="t", model="m", task_kind="edit"),
    ev.TextDelta(message_id="m2", text="he"),
    ev.ThinkingDelta(message_id="m2", text="hmm"),
    ev.MessageCompleted(
        message_id="m2", text="hello", tool_calls=[ToolCallInfo(id="c", name="bash", arguments="{}")], usage=Usage(input_tokens=3)
    ),
    ev.SideCall(purpose="router", model="cheap", usage=Usage(input_tokens=40, output_tokens=1, cost_usd=0.0001)),
    ev.ToolCallRequested(call_id="c", name="bash", arguments={"command": "ls"}),
    ev.ToolCallStarted(call_id="c", name="bash"),
    ev.ToolCallOutput(call_id="c", chunk="a\n"),
    ev.ToolCallFinished(call_id="c", name="bash", status="ok", output="a", display={"exit_code": 0}),
    ev.ApprovalRequested(request_id="r", call_id="c", tool_name="bash", kind="bash", summary="ls", details="ls"),
    ev.ApprovalResolved(request_id="r", call_id="c", decision="allow_once"),
    ev.AgentStateChanged(state="waiting_for_approval"),
    ev.TurnFinished(turn_id="t", status=TurnStatus.COMPLETED, duration=1.5, usage=Usage(cost_usd=0.01)),
    ev.Retrying(attempt=1, max_attempts=4, delay=0.5, error=ErrorInfo(kind=ErrorKind.RATE_LIMIT, message="slow down", retryable=True)),
    ev.ErrorEvent(error=ErrorInfo(kind=ErrorKind.AUTH, message="bad key")),
    ev.Warning(code="repeated_tool_call", message="again"),
    ev.SettingsChanged(model="m", permission_mode="plan"),
    ev.ContextCleared(),
    ev.ContextCompacted(reason="auto", summary="## Goal\nship it", keep_last=4, tokens_before=9000, tokens_after=1200),
    ev.BestOfFinished(
        task="fix it",
        check="pytest",
        ranking=[ev.BestOfEntry(child_id="a1", model="m", status=TurnStatus.COMPLETED, passed=True, files=1, added=2)],
    ),
    ev.ChangesApplied(child_id="a1", files=1, added=2, removed=0),
    ev.MemorySaved(memory=ev.MemoryItem(id=1, scope="project", text="deploys on Thursdays")),
    ev.MemoryUpdated(memory=ev.MemoryItem(id=1, scope="project", text="deploys on Fridays")),
    ev.MemoryForgotten(id=1),
    ev.Memories(memories=[ev.MemoryItem(id=1, scope="user", text="British spelling")]),
    ev.SubagentSpawned(child_id="a1", agent_type="explore", goal="find"),
    ev.SubagentFinished(child_id="a1", status=TurnStatus.COMPLETED, result="found"),
    ev.Lagged(missed=3),
]


def test_samples_cover_every_event_type() -> None:
    union = typing.get_args(typing.get_args(ev.Event)[0])
    assert {cls.model_fields["type"].default for cls in union} == {s.type for s in SAMPLES}


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_event_round_trip_and_schema(event: ev.EventBase) -> None:
    stamped = event.model_copy(update={"session_id": "ses_1", "seq": 7, "agent_id": "a1", "parent_id": "root"})
    line = dump_event(stamped)
    assert json.loads(line)["type"] == event.type
    assert list(json.loads(line))[0] == "type", "type leads every JSON line"
    assert parse_event(line) == stamped
    jsonschema.validate(json.loads(line), protocol_schema())


def test_ops_round_trip() -> None:
    samples = [
        ops.SubmitMessage(text="do it"),
        ops.Cancel(),
        ops.AnswerApproval(request_id="r", decision="deny", reason="no"),
        ops.SetModel(model="openai/gpt-4o"),
        ops.SetPermissionMode(mode="plan"),
        ops.ClearContext(),
        ops.Compact(focus="the parser"),
        ops.Remember(text="deploys on Thursdays"),
        ops.ListMemories(),
        ops.UpdateMemory(id=1, text="deploys on Fridays"),
        ops.ForgetMemory(id=1),
        ops.BestOf(task="fix the test", n=3, models=["a", "b"]),
        ops.ApplyChanges(child_id="a1"),
        ops.Shutdown(),
    ]
    for op in samples:
        assert parse_op(dump_op(op)) == op
        jsonschema.validate(json.loads(dump_op(op)), protocol_schema())


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "nope"},
        {"type": "user_message", "text": ""},
        {"type": "approval_answer", "request_id": "r", "decision": "maybe"},
        {"type": "set_permission_mode", "mode": "yolo"},
        {"type": "cancel", "extra": 1},
        {"type": "update_memory", "id": 1, "text": ""},
        {"type": "forget_memory"},
    ],
)
def test_bad_ops_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        parse_op(bad)


def test_deltas_are_live_only() -> None:
    assert not ev.TextDelta.durable and not ev.ThinkingDelta.durable and not ev.ToolCallOutput.durable
    assert ev.MessageCompleted.durable and ev.ToolCallFinished.durable and ev.TurnFinished.durable

