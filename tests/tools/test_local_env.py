"""LocalEnvironment against a real tmp workspace: the Environment contract (confinement, atomic
writes, walking, processes; kode/testing/environment_contract.py), then what is local's own."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from kode.runtime.local import LocalEnvironment
from kode.testing.contract_support import process_alive
from kode.testing.environment_contract import EnvironmentContract


class TestLocalEnvironment(EnvironmentContract):
    pass


def test_which_falls_back_to_interpreter_dir(env: LocalEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    # PATH is process configuration, not an internal: without it, rg is still found beside python.
    monkeypatch.setenv("PATH", "/nonexistent")
    assert env.which("rg") == str(Path(sys.executable).parent / "rg")


async def test_a_cancel_while_the_command_starts_still_kills_its_group(env: LocalEnvironment, tmp_path: Path) -> None:
    """asyncio's own clean-up for a cancel during `create_subprocess_exec` kills only the
    leader; on a loaded machine the command has already started children by then."""
    pid_file = tmp_path / "pids"
    before = _our_children()
    task = asyncio.create_task(env.run(f"sleep 300 & echo $! >> {pid_file}; echo $$ >> {pid_file}; wait"))
    for _ in range(100):  # step the loop only until the command is forked, not until it is set up
        await asyncio.sleep(0)
        if _our_children() - before:
            break
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and len(pid_file.read_text().split()) == 2):
        if time.monotonic() > deadline:
            task.cancel()
            raise AssertionError("the command never started")
        time.sleep(0.01)  # block the loop, as a busy machine would, while the command runs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert [pid for pid in pids if process_alive(pid)] == []


def _our_children() -> set[int]:
    children: set[int] = set()
    for task_dir in Path("/proc/self/task").iterdir():
        children.update(int(pid) for pid in (task_dir / "children").read_text().split())
    return children
