"""Sub-agents through the real `kode ask` and the real litellm client: a parent delegates to two
explorers in parallel; stream-json shows their events tagged with their ids, and the parent's
answer uses what they found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kode.testing.fake_provider import Reply, ToolCall
from kode.testing.fake_provider.model import RecordedRequest

pytestmark = pytest.mark.e2e


def respond(request: RecordedRequest) -> Reply:
    messages = request.body["messages"]
    first_user = next(str(m["content"]) for m in messages if m["role"] == "user")
    if "## Your goal" in first_user:  # a child
        goal = first_user.split("## Your goal\n", 1)[1].split("\n", 1)[0]
        if messages[-1]["role"] == "user":
            return Reply(text="Searching.", tool_calls=[ToolCall("grep", {"pattern": goal.split()[-1]})])
        return Reply(text=f"{goal}: {'found' if 'def ' in str(messages[-1]['content']) else 'nothing ' + repr(messages[-1])[:300]}")
    if messages[-1]["role"] == "user":
        return Reply(
            text="Delegating.",
            tool_calls=[ToolCall("task", {"goal": "look for parse"}), ToolCall("task", {"goal": "look for render"})],
        )
    return Reply(text="Both explorers reported back.")


def test_ask_delegates_to_parallel_children(provider, env, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "app.py").write_text("def parse():\n    pass\n\ndef render():\n    pass\n")
    provider.responder = respond
    try:
        result = subprocess.run(
            [sys.executable, "-m", "kode", "ask", "-o", "stream-json", "explore the code"],
            env=env, cwd=workspace, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    finally:
        provider.responder = None
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    spawned = [e for e in events if e["type"] == "subagent_spawned"]
    assert sorted(e["goal"] for e in spawned) == ["look for parse", "look for render"]
    children = {e["child_id"] for e in spawned}
    child_events = [e for e in events if e["agent_id"] in children]
    assert {e["parent_id"] for e in child_events} == {"root"}
    assert any(e["type"] == "tool_call_finished" for e in child_events), "the children used their tools"
    outputs = [e["output"] for e in events if e["type"] == "tool_call_finished" and e["agent_id"] == "root"]
    print(outputs)
    assert any("look for parse: found" in o for o in outputs) and any("look for render: found" in o for o in outputs)
    finished = [e for e in events if e["type"] == "turn_finished" and e["agent_id"] == "root"][-1]
    assert finished["result"] == "Both explorers reported back."
