"""The built-in tools through SshEnvironment give exactly what they give through
LocalEnvironment: the same output, error flag and display for the same workspace. That is the
design's promise that the agent cannot tell which environment it has."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kode.runtime.local import LocalEnvironment
from kode.runtime.ssh import SshEnvironment
from kode.testing.contract_support import tool_caller, write
from kode.tools.base import AgentToolState, ToolContext, ToolRegistry, ToolResult
from kode.tools.grep import Grep

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    write(root / ".gitignore", "*.log\nbuild/\n")
    write(root / "README.md", "# Demo\n\nA tiny project.\n")
    write(root / "src" / "app.py", "import os\n\n\ndef main():\n    print('hello')\n    return os.getcwd()\n")
    write(root / "src" / "util.py", "def helper(x):\n    return x * 2  # TODO: triple\n")
    write(root / "src" / "nested" / "deep.py", "VALUE = 42\n")
    write(root / "debug.log", "TODO in a log\n")
    write(root / "build" / "out.txt", "TODO built\n")
    write(root / "data.bin", b"\x00\x01\x02PNG\x00" * 50)
    write(root / "long.txt", "".join(f"line {i}\n" for i in range(1, 3001)))
    (root / "src" / "alias.py").symlink_to("app.py")
    return root


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project for the read-only calls, seen by both environments."""
    return _project(tmp_path_factory.mktemp("tools") / "proj")


@pytest_asyncio.fixture(loop_scope="module")
async def remote(base_env: SshEnvironment, shared: Path) -> SshEnvironment:
    return await base_env.rooted_at(str(shared))


def _same(local: ToolResult, remote: ToolResult) -> None:
    assert remote.output == local.output
    assert remote.is_error == local.is_error
    assert remote.display == local.display


READ_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("read_file", {"path": "src/app.py"}),
    ("read_file", {"path": "src/alias.py"}),
    ("read_file", {"path": "long.txt", "offset": 1500, "limit": 20}),
    ("read_file", {"path": "long.txt"}),
    ("read_file", {"path": "data.bin"}),
    ("read_file", {"path": "src/ap.py"}),
    ("read_file", {"path": "src"}),
    ("list", {"path": ".", "depth": 3}),
    ("list", {"path": "src"}),
    ("list", {"path": "nope"}),
    ("list", {"path": "README.md"}),
    ("read_file", {"path": "README.md/x"}),
    ("glob", {"pattern": "*", "path": "README.md"}),
    ("glob", {"pattern": "*", "path": "missing-dir"}),
    ("grep", {"pattern": "x", "path": "nope"}),
    ("grep", {"pattern": "PNG", "path": "data.bin"}),
    ("glob", {"pattern": "**/*.py"}),
    ("glob", {"pattern": "*.md"}),
    ("glob", {"pattern": "**/*.log"}),
    ("glob", {"pattern": "*.py", "path": "src"}),
    ("grep", {"pattern": "TODO"}),
    ("grep", {"pattern": "def \\w+", "path": "src", "context": 1}),
    ("grep", {"pattern": "todo", "ignore_case": True, "glob": "*.py"}),
    ("grep", {"pattern": "hello", "path": "src/app.py"}),
    ("grep", {"pattern": "nothing-matches-this"}),
    ("grep", {"pattern": "(?<=x) \\*"}),
    ("grep", {"pattern": "([unclosed"}),
    ("bash", {"command": "ls src | sort; echo err >&2; exit 3"}),
    ("bash", {"command": "cd src && pwd && cat nested/deep.py"}),
]


@pytest.mark.parametrize(("tool", "arguments"), READ_CALLS, ids=lambda v: str(v)[:40])
async def test_read_only_tools_answer_as_locally(
    remote: SshEnvironment, shared: Path, tool: str, arguments: dict
) -> None:
    local = await tool_caller(LocalEnvironment(shared))(tool, **arguments)
    _same(local, await tool_caller(remote)(tool, **arguments))


@pytest.mark.parametrize("arguments", [{"pattern": "TODO"}, {"pattern": "def \\w+", "glob": "src/**", "context": 1}])
async def test_grep_without_ripgrep_answers_the_same(remote: SshEnvironment, shared: Path, arguments: dict) -> None:
    """The Python fallback (walk + read over SFTP) when the host has no rg."""
    python_only = ToolRegistry([Grep(use_ripgrep=False)])
    local = await tool_caller(LocalEnvironment(shared))("grep", **arguments)
    _same(local, await tool_caller(remote, python_only)("grep", **arguments))


EDIT_SCRIPT: list[tuple[str, dict[str, Any]]] = [
    ("write_file", {"path": "new/dir/file.txt", "content": "fresh\n"}),
    ("write_file", {"path": "README.md", "content": "# Replaced\n"}),
    ("edit_file", {"path": "src/app.py", "edits": [{"old_text": "print('hello')", "new_text": "print('bye')"}]}),
    ("edit_file", {"path": "src/util.py", "edits": [{"old_text": "not there", "new_text": "x"}]}),
    ("edit_file", {"path": "src/alias.py", "edits": [{"old_text": "import os", "new_text": "import sys"}]}),
    ("write_file", {"path": "src", "content": "x"}),
    ("write_file", {"path": "README.md/inside.txt", "content": "x"}),
    ("write_file", {"path": "data.bin/a/b.txt", "content": "x"}),
    ("read_file", {"path": "README.md/inside.txt"}),
    ("bash", {"command": "mkdir -p made && cd made && printf hi > f.txt"}),
    ("bash", {"command": "pwd; cat f.txt"}),
    ("read_file", {"path": "new/dir/file.txt"}),
]


async def test_editing_tools_change_both_workspaces_alike(base_env: SshEnvironment, tmp_path: Path) -> None:
    local_root = _project(tmp_path / "local" / "proj")
    remote_root = _project(tmp_path / "remote" / "proj")
    local = tool_caller(LocalEnvironment(local_root))
    remote = tool_caller(await base_env.rooted_at(str(remote_root)))
    for tool, arguments in EDIT_SCRIPT:
        expected = await local(tool, **arguments)
        got = await remote(tool, **arguments)
        # Paths differ only by the workspace location.
        assert got.output.replace(str(remote_root), "<ws>") == expected.output.replace(str(local_root), "<ws>"), tool
        assert got.is_error == expected.is_error
    comparison = filecmp.dircmp(local_root, remote_root)
    assert _differences(comparison) == []


def _differences(cmp: filecmp.dircmp[str]) -> list[str]:
    found = [*cmp.left_only, *cmp.right_only, *cmp.diff_files, *cmp.funny_files]
    for sub in cmp.subdirs.values():
        found += _differences(sub)
    return found


async def test_bash_tool_carries_cwd_and_times_out(base_env: SshEnvironment, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    env = await base_env.rooted_at(str(root))
    ctx = ToolContext(env=env, state=AgentToolState())
    call = tool_caller(ctx)

    await call("bash", command="cd sub")
    assert (await call("bash", command="pwd")).output == str((root / "sub").resolve())
    left = await call("bash", command="cd /tmp")
    assert "outside the workspace" in left.output and ctx.state.cwd is None
    timed = await call("bash", command="sleep 5", timeout=0.5)
    assert timed.is_error and "Timed out after 0.5s" in timed.output
    shutil.rmtree(root / "sub")
