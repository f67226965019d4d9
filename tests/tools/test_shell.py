"""bash: real processes. Timeouts and cancellation must leave nothing of the command running
(`env.run` itself is held to that by the Environment contract, kode/testing/environment_contract.py;
these cases go through the tool)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from kode.runtime.local import LocalEnvironment
from kode.tools.base import AgentToolState, ToolContext, ToolSettings
from kode.tools.shell import Bash, BashParams

from .helpers import SPAWNER, Call, assert_all_dead, process_alive, run_tool, spawned_pids, wait_for


async def test_runs_and_reports_exit_code(call: Call) -> None:
    ok = await call("bash", command="echo hello", description="Say hello")
    assert ok.output == "hello" and not ok.is_error and ok.display == {
        "exit_code": 0,
        "timed_out": False,
        "truncated": False,
        "cwd": ".",
    }
    failed = await call("bash", command="echo oops >&2; exit 3")
    assert failed.output == "oops\n\n[Exit code 3.]"
    assert failed.display is not None and failed.display["exit_code"] == 3
    assert (await call("bash", command="true")).output == "(no output)"


async def test_streams_output_to_the_context(ctx: ToolContext) -> None:
    chunks: list[str] = []

    async def emit(chunk: str) -> None:
        chunks.append(chunk)

    ctx.emit_output = emit
    await run_tool(Bash(), BashParams(command="echo one; echo two"), ctx)
    assert "".join(chunks) == "one\ntwo\n"


async def test_cwd_carries_over_and_resets_when_leaving(call: Call, ctx: ToolContext, ws: Path) -> None:
    (ws / "sub" / "deeper").mkdir(parents=True)
    sub = str((ws / "sub").resolve())
    first = await call("bash", command="cd sub && exit 2")
    assert ctx.state.cwd == sub and first.display is not None and first.display["cwd"] == "sub"
    assert (await call("bash", command="pwd")).output == sub
    await call("bash", command="cd deeper")
    assert (await call("bash", command="pwd")).output == f"{sub}/deeper"
    left = await call("bash", command="cd /tmp")
    assert "outside the workspace" in left.output and ctx.state.cwd is None
    assert (await call("bash", command="pwd")).output == str(ws.resolve())


async def test_deleted_cwd_falls_back_to_root(call: Call, ctx: ToolContext, ws: Path) -> None:
    (ws / "gone").mkdir()
    await call("bash", command="cd gone")
    (ws / "gone").rmdir()
    result = await call("bash", command="pwd")
    assert result.output.startswith(str(ws.resolve())) and "no longer exists" in result.output


async def test_output_is_capped_with_marker(call: Call, settings: ToolSettings) -> None:
    settings.output_limit = 500
    result = await call("bash", command="seq 1 20000")
    assert "characters truncated]" in result.output
    assert result.output.startswith("1\n2\n") and "20000" in result.output
    assert result.display is not None and result.display["truncated"] is True


async def test_timeout_is_clamped_to_the_maximum(call: Call, settings: ToolSettings) -> None:
    settings.bash_max_timeout = 0.3
    started = time.monotonic()
    result = await call("bash", command="sleep 5", timeout=100)
    assert time.monotonic() - started < 3
    assert "0.3s was used" in result.output and "Timed out after 0.3s" in result.output


async def test_timeout_kills_the_whole_group(ctx: ToolContext) -> None:
    seen: list[str] = []

    async def emit(chunk: str) -> None:
        seen.append(chunk)

    ctx.emit_output = emit
    started = time.monotonic()
    result = await run_tool(Bash(), BashParams(command=SPAWNER, timeout=0.6), ctx)
    assert time.monotonic() - started < 4
    assert result.is_error and "Timed out after 0.6s" in result.output
    assert result.display is not None and result.display["timed_out"] is True and result.display["exit_code"] is None
    assert_all_dead(spawned_pids("".join(seen)))


async def test_cancellation_kills_the_whole_group(ctx: ToolContext) -> None:
    seen: list[str] = []

    async def emit(chunk: str) -> None:
        seen.append(chunk)

    ctx.emit_output = emit
    task = asyncio.create_task(run_tool(Bash(), BashParams(command=SPAWNER), ctx))
    await wait_for(lambda: {"pg", "child", "grandchild", "stubborn"} <= set(spawned_pids("".join(seen))), timeout=5.0)
    pids = spawned_pids("".join(seen))
    assert all(process_alive(pid) for pid in pids.values())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Everything is dead by the time the cancelled task has finished, not eventually.
    assert_all_dead(pids)


async def test_tool_metadata() -> None:
    tool = Bash()
    params = BashParams(command="make test\nmore", description="Run tests")
    assert tool.kind == "bash" and tool.permission_target(params) == "make test\nmore"
    assert tool.summary(params) == "Run tests"
    assert tool.summary(BashParams(command="ls -la\necho")) == "ls -la"


async def test_state_is_per_agent(env: LocalEnvironment, ws: Path) -> None:
    (ws / "a").mkdir()
    one = ToolContext(env=env, state=AgentToolState())
    two = ToolContext(env=env, state=AgentToolState())
    await run_tool(Bash(), BashParams(command="cd a"), one)
    assert (await run_tool(Bash(), BashParams(command="pwd"), two)).output == str(ws.resolve())
