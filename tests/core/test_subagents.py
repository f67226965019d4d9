"""Sub-agents: the `task` tool forks children that run concurrently under the session.

A real Session with real tools, policy and environment; only the model is scripted. Children's
replies are chosen by their goal (children run concurrently, so a FIFO script would race).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from kode.core.subagents import SubagentConfig, SubagentLimits
from kode.llm.types import ChatRequest
from kode.protocol.common import ROOT_AGENT, TurnStatus
from kode.protocol.events import SubagentFinished, SubagentSpawned, ToolCallFinished, TurnFinished
from kode.protocol.ops import Cancel, SubmitMessage
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session

CHILD_DELAY = 0.6


def goal_of(request: ChatRequest) -> str | None:
    """The goal in a child's briefing; None for the root agent's requests."""
    for message in request.messages:
        content = str(message.get("content") or "")
        if message["role"] == "user" and "## Your goal\n" in content:
            return content.split("## Your goal\n", 1)[1].split("\n", 1)[0]
    return None


def tool_names(request: ChatRequest) -> list[str]:
    return [tool["function"]["name"] for tool in request.tools or []]


def responder(children: dict[str, list[Step]], root: list[Step]):  # type: ignore[no-untyped-def]
    """Root requests take `root` in order; a child's take the steps of its goal in order."""

    def respond(request: ChatRequest) -> Step:
        goal = goal_of(request)
        queue = root if goal is None else children[goal]
        return queue.pop(0)

    return respond


async def run_turn(session, text: str) -> list:  # type: ignore[no-untyped-def]
    events = []
    stream = session.events(0)
    await session.submit(SubmitMessage(text=text))
    async for event in stream:
        events.append(event)
        if isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
            return events
    raise AssertionError("the turn never finished")


def git_workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "t@example.com"], ["config", "user.name", "t"]):
        subprocess.run(["git", *args], cwd=ws, check=True)
    (ws / "app.py").write_text("print('app')\n")
    subprocess.run(["git", "add", "-A"], cwd=ws, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=ws, check=True)
    return ws


async def test_three_children_run_in_parallel_and_roll_up(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.md").write_text("the answer is 42\n")
    goals = ["find alpha", "find beta", "find gamma"]
    children = {goal: [Step(text=f"found {goal.split()[1]}", delay=CHILD_DELAY)] for goal in goals}
    root = [
        Step(text="Splitting the work.", tool_calls=[("task", {"goal": g, "files": ["notes.md"]}) for g in goals]),
        Step(text="All three reported."),
    ]
    model = ScriptedModel(default=responder(children, root))
    session = scripted_session(ws, model)
    started = time.monotonic()
    events = await run_turn(session, "look for three things")
    elapsed = time.monotonic() - started
    print(f"\nthree children of {CHILD_DELAY:.1f} s each: the turn took {elapsed:.2f} s")
    assert elapsed < CHILD_DELAY * 2, "children ran one after another"

    spawned = [e for e in events if isinstance(e, SubagentSpawned)]
    finished = [e for e in events if isinstance(e, SubagentFinished)]
    assert sorted(e.goal for e in spawned) == goals
    assert all(e.agent_id == ROOT_AGENT for e in spawned + finished)
    assert {e.status for e in finished} == {TurnStatus.COMPLETED}
    child_ids = {e.child_id for e in spawned}
    child_events = [e for e in events if e.agent_id in child_ids]
    assert child_events and all(e.parent_id == ROOT_AGENT for e in child_events)

    results = [e.output for e in events if isinstance(e, ToolCallFinished) and e.agent_id == ROOT_AGENT]
    assert sorted(r.split("\n")[1] for r in results) == ["found alpha", "found beta", "found gamma"]
    child_requests = [r for r in model.requests if goal_of(r)]
    assert all("the answer is 42" in str(r.messages[-1]["content"]) for r in child_requests), "named files given"
    assert all("look for three things" in str(r.messages[-1]["content"]) for r in child_requests), "context given"
    assert all("write_file" not in tool_names(r) and "read_file" in tool_names(r) for r in child_requests)

    turn = next(e for e in events if isinstance(e, TurnFinished) and e.agent_id == ROOT_AGENT)
    own = sum(e.usage.output_tokens for e in events if e.type == "message_completed" and e.agent_id == ROOT_AGENT)
    children_out = sum(e.usage.output_tokens for e in finished)
    assert children_out > 0 and turn.usage.output_tokens == own + children_out


async def test_unknown_type_and_depth_limit(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    children = {"nested": [Step(text="cannot go deeper", tool_calls=[("task", {"goal": "deeper"})]), Step(text="ok")]}
    root = [
        Step(tool_calls=[("task", {"goal": "x", "agent_type": "wizard"})]),
        Step(tool_calls=[("task", {"goal": "nested"})]),
        Step(text="done"),
    ]
    model = ScriptedModel(default=responder(children, root))
    session = scripted_session(ws, model)
    session.subagents.config.limits.max_depth = 1
    events = await run_turn(session, "go")
    outputs = [e.output for e in events if isinstance(e, ToolCallFinished)]
    assert "unknown agent type 'wizard'" in outputs[0] and "explore" in outputs[0]
    child_request = next(r for r in model.requests if goal_of(r) == "nested")
    assert "task" not in tool_names(child_request), "a child at the depth limit is not offered task"
    assert "task" in tool_names(model.requests[0])


async def test_wait_false_then_task_result(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    children = {"slow one": [Step(text="slow result", delay=0.3)]}
    seen: dict[str, str] = {}

    def root_step(request: ChatRequest) -> Step:
        last = request.messages[-1]
        if last["role"] == "user":
            return Step(text="starting", tool_calls=[("task", {"goal": "slow one", "wait": False})])
        if "Started " in str(last.get("content")):
            child_id = str(last["content"]).split()[1].rstrip(".")
            seen["id"] = child_id
            return Step(text="collecting", tool_calls=[("task_result", {"ids": [child_id]})])
        return Step(text="got it")

    def respond(request: ChatRequest) -> Step:
        goal = goal_of(request)
        return children[goal].pop(0) if goal else root_step(request)

    session = scripted_session(ws, ScriptedModel(default=respond))
    events = await run_turn(session, "go")
    outputs = [e.output for e in events if isinstance(e, ToolCallFinished) and e.agent_id == ROOT_AGENT]
    assert outputs[0].startswith("Started agent_")
    assert "slow result" in outputs[1] and seen["id"] in outputs[1]


async def test_cancelling_the_parent_cancels_its_children(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    children = {"forever": [Step(text="x" * 50, delay=0.5, chunks=50)]}
    root = [Step(tool_calls=[("task", {"goal": "forever"})])]
    session = scripted_session(ws, ScriptedModel(default=responder(children, root)))
    events = []
    stream = session.events(0)
    await session.submit(SubmitMessage(text="go"))
    async for event in stream:
        events.append(event)
        if isinstance(event, SubagentSpawned):
            await asyncio.sleep(0.3)
            await session.submit(Cancel())
        if isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
            break
    finished = [e for e in events if isinstance(e, SubagentFinished)]
    assert finished and finished[0].status is TurnStatus.CANCELLED
    assert events[-1].status is TurnStatus.CANCELLED
    assert all(c.task is not None and c.task.done() for c in session.subagents.children.values())


async def test_a_writer_child_works_in_a_worktree_until_applied(tmp_path: Path) -> None:
    ws = git_workspace(tmp_path)
    children = {
        "add a greeting": [
            Step(text="writing", tool_calls=[("write_file", {"path": "hello.txt", "content": "hello\n"})]),
            Step(text="I added hello.txt."),
        ]
    }
    state: dict[str, str] = {}

    def root_step(request: ChatRequest) -> Step:
        last = request.messages[-1]
        content = str(last.get("content") or "")
        if last["role"] == "user":
            return Step(tool_calls=[("task", {"goal": "add a greeting", "agent_type": "general"})])
        if "apply_changes(id=" in content:
            state["report"] = content
            assert not (ws / "hello.txt").exists(), "a child's edit reached the workspace before apply"
            child_id = content.split("apply_changes(id='", 1)[1].split("'", 1)[0]
            return Step(tool_calls=[("apply_changes", {"id": child_id})])
        state["applied"] = content
        return Step(text="applied")

    def respond(request: ChatRequest) -> Step:
        goal = goal_of(request)
        return children[goal].pop(0) if goal else root_step(request)

    session = scripted_session(ws, ScriptedModel(default=respond), mode="accept-edits")
    await run_turn(session, "delegate it")
    assert "+hello" in state["report"] and "hello.txt" in state["report"]
    assert (ws / "hello.txt").read_text() == "hello\n"
    assert "Applied" in state["applied"]
    worktrees = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ws, capture_output=True, text=True).stdout
    assert worktrees.count("worktree ") == 1, worktrees
    branches = subprocess.run(["git", "branch", "--list", "kode/*"], cwd=ws, capture_output=True, text=True).stdout
    assert branches.strip() == ""


def test_limits_have_sane_defaults() -> None:
    limits = SubagentConfig().limits
    assert isinstance(limits, SubagentLimits)
    assert limits.max_depth >= 1 and limits.max_concurrent >= 2 and limits.max_turns > 0
    assert sorted(SubagentConfig().types) == ["explore", "general"]



async def test_best_of_picks_the_attempt_whose_check_passes(tmp_path: Path) -> None:
    import sys

    from kode.protocol.events import BestOfFinished, ChangesApplied
    from kode.protocol.ops import ApplyChanges, BestOf

    ws = git_workspace(tmp_path)
    attempts = {
        "model-wrong": [Step(tool_calls=[("write_file", {"path": "answer.txt", "content": "41\n"})]), Step(text="41")],
        "model-right": [Step(tool_calls=[("write_file", {"path": "answer.txt", "content": "42\n"})]), Step(text="42")],
        "model-idle": [Step(text="I changed nothing.")],
    }
    model = ScriptedModel(default=lambda request: attempts[request.model].pop(0))
    session = scripted_session(ws, model)
    check = f"{sys.executable} -c \"import sys; sys.exit(open('answer.txt').read().strip() != '42')\""
    stream = session.events(0)
    await session.submit(BestOf(task="write the answer", n=3, models=list(attempts), check=check))
    ranking = None
    async for event in stream:
        if isinstance(event, BestOfFinished):
            ranking = event.ranking
        if isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
            break
    assert ranking is not None and [e.model for e in ranking][0] == "model-right"
    assert [e.passed for e in ranking] == [True, False, False]
    assert not (ws / "answer.txt").exists(), "no attempt touches the workspace until applied"
    assert "Best-of-3" in str(session.agent.transcript.messages[-1]), "the model can see the ranking"

    await session.submit(ApplyChanges(child_id=ranking[0].child_id))
    assert (ws / "answer.txt").read_text() == "42\n"
    assert any(isinstance(e, ChangesApplied) for e in session.log.durable_events())
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ws, capture_output=True, text=True).stdout
    assert len(worktrees.strip().splitlines()) == 1, worktrees


async def test_cancelling_leaves_no_process_or_worktree_behind(tmp_path: Path) -> None:
    ws = git_workspace(tmp_path)
    marker = f"sleep 3{time.monotonic_ns() % 1000:03d}"  # a command line no one else is running
    children = {"busy work": [Step(tool_calls=[("bash", {"command": marker})])]}
    root = [Step(tool_calls=[("task", {"goal": "busy work", "agent_type": "general"})])]
    session = scripted_session(ws, ScriptedModel(default=responder(children, root)), mode="bypass")
    stream = session.events(0)
    await session.submit(SubmitMessage(text="go"))
    async for event in stream:
        if event.type == "tool_call_started" and event.agent_id != ROOT_AGENT:
            await asyncio.sleep(0.3)
            assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0
            await session.submit(Cancel())
        if isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
            assert event.status is TurnStatus.CANCELLED
            break
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1, "the child's command lives on"
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ws, capture_output=True, text=True).stdout
    assert len(worktrees.strip().splitlines()) == 1, worktrees
    branches = subprocess.run(["git", "branch", "--list", "kode/*"], cwd=ws, capture_output=True, text=True).stdout
    assert branches.strip() == ""
