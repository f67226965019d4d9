"""The turn loop with real tools and policy: tool rounds, approvals, concurrency, guards, limits."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from pydantic import BaseModel

from kode.core.permissions import PermissionMode
from kode.protocol import events as ev
from kode.protocol.common import ErrorKind, TurnStatus
from kode.protocol.ops import AnswerApproval, SetModel, SetPermissionMode, SubmitMessage
from kode.testing.scripted_model import Step
from kode.tools.base import Tool, ToolContext, ToolResult


async def test_multi_step_tool_loop_reads_edits_and_answers(make_harness, workspace) -> None:
    h = make_harness(
        Step("Reading.", tool_calls=[("read_file", {"path": "hello.py"})]),
        Step(tool_calls=[("edit_file", {"path": "hello.py", "edits": [{"old_text": "'hello'", "new_text": "'hi'"}]})]),
        Step("Changed the greeting."),
        mode=PermissionMode.ACCEPT_EDITS,
    )
    finished = await h.turn("make greet say hi")
    assert finished.status is TurnStatus.COMPLETED
    assert finished.result == "Changed the greeting."
    assert finished.model_calls == 3
    assert "return 'hi'" in (workspace / "hello.py").read_text()
    # the model saw each tool's result in the next request
    third = h.model.requests[2].messages
    tool_results = [m for m in third if m["role"] == "tool"]
    assert len(tool_results) == 2 and "return 'hello'" in tool_results[0]["content"]
    assert third[0]["role"] == "system" and third[1] == {"role": "user", "content": "make greet say hi"}
    finished_calls = h.of(ev.ToolCallFinished)
    assert [c.status for c in finished_calls] == ["ok", "ok"]
    assert "diff" in (finished_calls[1].display or {})


class SlowRead(Tool):
    name: ClassVar[str] = "slow_read"
    description: ClassVar[str] = "test tool"
    kind = "read"

    class Params(BaseModel):
        n: int

    async def run(self, params, ctx: ToolContext) -> ToolResult:
        await asyncio.sleep(0.3)
        return ToolResult(output=f"done {params.n}")


async def test_independent_read_only_calls_run_concurrently(make_harness) -> None:
    h = make_harness(
        Step(tool_calls=[("slow_read", {"n": i}) for i in range(4)]),
        Step("ok"),
        extra_tools=(SlowRead(),),
    )
    started = time.monotonic()
    finished = await h.turn("go")
    elapsed = time.monotonic() - started
    assert finished.status is TurnStatus.COMPLETED
    assert elapsed < 0.9, f"4 × 0.3 s reads took {elapsed:.2f}s: not concurrent"
    assert sorted(e.output for e in h.of(ev.ToolCallFinished)) == [f"done {i}" for i in range(4)]


async def test_approval_allow_once_then_deny_with_reason(make_harness, workspace) -> None:
    h = make_harness(
        Step(tool_calls=[("bash", {"command": "echo one > one.txt"})]),
        Step(tool_calls=[("bash", {"command": "echo two > two.txt"})]),
        Step("finished"),
    )
    answers = iter([("allow_once", ""), ("deny", "use python instead")])

    async def answer(event) -> None:
        if isinstance(event, ev.ApprovalRequested):
            assert event.details and "echo" in event.details
            decision, reason = next(answers)
            await h.session.submit(AnswerApproval(request_id=event.request_id, decision=decision, reason=reason))

    finished = await h.turn("write files", on_event=answer)
    assert finished.status is TurnStatus.COMPLETED
    assert (workspace / "one.txt").exists() and not (workspace / "two.txt").exists()
    statuses = [e.status for e in h.of(ev.ToolCallFinished)]
    assert statuses == ["ok", "denied"]
    assert "use python instead" in h.of(ev.ToolCallFinished)[1].output
    assert [r.decision for r in h.of(ev.ApprovalResolved)] == ["allow_once", "deny"]


async def test_allow_for_session_adds_a_rule(make_harness) -> None:
    h = make_harness(
        Step(tool_calls=[("bash", {"command": "echo a"})]),
        Step(tool_calls=[("bash", {"command": "echo a second time"})]),
        Step(tool_calls=[("bash", {"command": "echo b"})]),
        Step("done"),
    )

    async def answer(event) -> None:
        if isinstance(event, ev.ApprovalRequested):
            await h.session.submit(AnswerApproval(request_id=event.request_id, decision="allow_session"))

    await h.turn("go", on_event=answer)
    requested = h.of(ev.ApprovalRequested)
    assert requested[0].suggested_rule == "bash(echo a*)"
    assert [r.summary for r in requested] == ["echo a", "echo b"], "`echo a second time` matched the session rule"
    assert [e.status for e in h.of(ev.ToolCallFinished)] == ["ok", "ok", "ok"]


async def test_non_interactive_denies_and_tells_the_model(make_harness, workspace) -> None:
    h = make_harness(
        Step(tool_calls=[("write_file", {"path": "new.txt", "content": "x"})]),
        Step("could not"),
        interactive=False,
    )
    finished = await h.turn("write")
    assert finished.status is TurnStatus.COMPLETED
    assert not (workspace / "new.txt").exists()
    result = h.of(ev.ToolCallFinished)[0]
    assert result.status == "denied" and "--allow" in result.output
    assert h.model.requests[1].messages[-1]["content"] == result.output


async def test_plan_mode_refuses_writes_and_shell(make_harness, workspace) -> None:
    h = make_harness(
        Step(tool_calls=[("write_file", {"path": "x.txt", "content": "x"}), ("bash", {"command": "ls"}), ("read_file", {"path": "hello.py"})]),
        Step("planned"),
        mode=PermissionMode.PLAN,
    )
    await h.turn("plan")
    assert [e.status for e in h.of(ev.ToolCallFinished)] == ["denied", "denied", "ok"]
    assert not (workspace / "x.txt").exists()


async def test_doom_loop_warns_at_3_and_stops_at_6(make_harness) -> None:
    h = make_harness(default=lambda request: Step(tool_calls=[("read_file", {"path": "hello.py"})]))
    finished = await h.turn("loop")
    assert finished.status is TurnStatus.FAILED
    assert finished.error is not None and finished.error.kind is ErrorKind.TOOL_LOOP
    assert len(h.of(ev.Warning)) == 3  # calls 3, 4 and 5
    statuses = [e.status for e in h.of(ev.ToolCallFinished)]
    assert statuses == ["ok"] * 5 + ["error"], "the 6th identical call is not run"


async def test_max_turns_stops_the_turn(make_harness) -> None:
    counter = iter(range(100))
    h = make_harness(default=lambda r: Step(tool_calls=[("read_file", {"path": "hello.py", "offset": next(counter) + 1})]), max_turns=4)
    finished = await h.turn("go")
    assert finished.status is TurnStatus.MAX_TURNS and finished.model_calls == 4
    assert finished.error is not None and "max_turns" in finished.error.message


async def test_bad_arguments_and_unknown_tools_are_reported_to_the_model(make_harness) -> None:
    h = make_harness(
        Step(tool_calls=[("read_file", {"nope": 1}), ("teleport", {})]),
        Step("sorry"),
    )
    finished = await h.turn("go")
    assert finished.status is TurnStatus.COMPLETED
    outputs = [e.output for e in h.of(ev.ToolCallFinished)]
    assert "invalid arguments for read_file" in outputs[0] and "path" in outputs[0]
    assert "unknown tool 'teleport'" in outputs[1]


async def test_busy_session_refuses_a_second_message(make_harness) -> None:
    h = make_harness(Step("slow answer", delay=0.2, chunks=3), Step("second"))
    seen_busy = []

    async def on_event(event) -> None:
        if isinstance(event, ev.TextDelta) and not seen_busy:
            seen_busy.append(True)
            try:
                await h.session.submit(SubmitMessage(text="me too"))
            except Exception as exc:  # SessionBusy is raised to in-process callers
                seen_busy.append(type(exc).__name__)

    finished = await h.turn("first", on_event=on_event)
    assert finished.status is TurnStatus.COMPLETED
    assert "SessionBusy" in seen_busy
    assert any("busy" in e.error.message for e in h.of(ev.ErrorEvent))
    assert len([e for e in h.session.log.durable_events() if isinstance(e, ev.UserMessage)]) == 1


async def test_settings_ops_emit_settings_changed(make_harness) -> None:
    h = make_harness()
    await h.session.submit(SetModel(model="openai/gpt-4o"))
    await h.session.submit(SetPermissionMode(mode="plan"))
    changes = [e for e in h.session.log.durable_events() if isinstance(e, ev.SettingsChanged)]
    assert [(c.model, c.permission_mode) for c in changes] == [("openai/gpt-4o", "default"), ("openai/gpt-4o", "plan")]
    assert h.session.policy.mode is PermissionMode.PLAN


async def test_edit_approval_shows_the_exact_diff(make_harness, workspace) -> None:
    h = make_harness(
        Step(tool_calls=[("edit_file", {"path": "hello.py", "edits": [{"old_text": "'hello'", "new_text": "'hi'"}]})]),
        Step("done"),
    )

    async def answer(event) -> None:
        if isinstance(event, ev.ApprovalRequested):
            await h.session.submit(AnswerApproval(request_id=event.request_id, decision="allow_once"))

    await h.turn("edit", on_event=answer)
    details = h.of(ev.ApprovalRequested)[0].details
    assert "-    return 'hello'" in details and "+    return 'hi'" in details
    assert h.of(ev.ToolCallFinished)[0].display["diff"] == details, "what was approved is what ran"


async def test_an_edit_that_would_fail_is_reported_without_asking(make_harness) -> None:
    h = make_harness(
        Step(tool_calls=[("edit_file", {"path": "hello.py", "edits": [{"old_text": "not there", "new_text": "x"}]})]),
        Step("ok"),
    )
    await h.turn("edit")
    assert h.of(ev.ApprovalRequested) == []
    result = h.of(ev.ToolCallFinished)[0]
    assert result.status == "error" and "not there" not in (h.workspace / "hello.py").read_text()


async def test_deny_rules_match_canonical_paths(make_harness, workspace) -> None:
    (workspace / "secrets").mkdir()
    (workspace / "link").symlink_to(workspace / "secrets")
    attempts = ["secrets/a.txt", f"{workspace}/secrets/b.txt", "./src/../secrets/c.txt", "link/d.txt"]
    h = make_harness(
        Step(tool_calls=[("write_file", {"path": p, "content": "x"}) for p in attempts]),
        Step("ok"),
        mode=PermissionMode.ACCEPT_EDITS,
        deny=("edit(secrets/**)",),
    )
    await h.turn("write secrets")
    assert [e.status for e in h.of(ev.ToolCallFinished)] == ["denied"] * 4
    assert list((workspace / "secrets").iterdir()) == []
