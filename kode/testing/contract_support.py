"""What the environment contracts and the tool tests share: file and process helpers, and the
pytest glue that keeps pytest out of kode's imports (see kode.testing.environment_contract)."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kode.runtime.environment import Environment
from kode.tools.base import AgentToolState, Tool, ToolContext, ToolError, ToolRegistry, ToolResult
from kode.tools.builtin import builtin_tools

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import pytest

# -- helpers -------------------------------------------------------------------------------------

Call = Callable[..., Coroutine[Any, Any, ToolResult]]
"""`call(name, **arguments)`: run a tool as the agent loop would (see `tool_caller`)."""

MakeEnv = Callable[[Path], Awaitable[Environment]]
"""The `make_env` fixture: another environment of the kind under test, rooted at a local dir."""


async def run_tool(tool: Tool[Any], params: Any, ctx: ToolContext) -> ToolResult:
    """Run a tool as the agent loop does: a `ToolError` becomes an error result. Environment
    errors are deliberately *not* converted here: a tool must do that itself."""
    try:
        return await tool.run(params, ctx)
    except ToolError as exc:
        return ToolResult.error(str(exc))


def tool_caller(target: ToolContext | Environment, registry: ToolRegistry | None = None) -> Call:
    """`call(name, **arguments)` for the built-in tools (or `registry`'s): validate the arguments,
    run, ToolError -> error result. `target` is a context, or an environment to give a fresh one."""
    ctx = target if isinstance(target, ToolContext) else ToolContext(env=target, state=AgentToolState())
    tools = registry or ToolRegistry(builtin_tools())

    async def call(name: str, /, **arguments: Any) -> ToolResult:
        tool, params = tools.parse(name, arguments)
        return await run_tool(tool, params, ctx)

    return call


def write(path: Path, content: str | bytes, mode: int | None = None) -> Path:
    """Create `path` (and its parents) holding `content`, with `mode` when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if mode is not None:
        os.chmod(path, mode)
    return path


def _proc_stats() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, the fields of /proc/PID/stat after the command name) of every process."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    yield int(name), fh.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue


def _running(fields: list[bytes]) -> bool:
    return fields[0] not in (b"Z", b"X")  # nothing may reap orphans in a container: skip zombies


def process_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return _running(fh.read().rsplit(b")", 1)[1].split())
    except (OSError, IndexError):
        return False


def live_group_members(pgid: int) -> list[int]:
    """The live processes of process group `pgid` (field 3 of the stat line after the name)."""
    return [pid for pid, fields in _proc_stats() if int(fields[2]) == pgid and _running(fields)]


SPAWNER = (
    "echo pg=$$; "
    "sleep 1000 & echo child=$!; "
    "( sleep 1000 & echo grandchild=$!; wait ) & echo sub=$!; "
    "sh -c 'trap \"\" TERM; echo stubborn=$$; exec sleep 1000' & "
    "wait"
)
"""Starts a child, a subshell with a grandchild, and a TERM-ignoring child (only SIGKILL stops
it), reports every pid (`name=pid`), then waits on them."""


def spawned_pids(text: str) -> dict[str, int]:
    """The `name=pid` pairs SPAWNER printed."""
    return {name: int(pid) for name, pid in re.findall(r"(\w+)=(\d+)", text)}


def assert_all_dead(pids: dict[str, int]) -> None:
    """Nothing SPAWNER started is still running, nor anything else in its process group."""
    assert {"pg", "child", "grandchild", "sub", "stubborn"} <= set(pids), pids
    alive = {name: pid for name, pid in pids.items() if process_alive(pid)}
    assert not alive, f"still running: {alive}"
    assert live_group_members(pids["pg"]) == []


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


# -- the pytest glue (pytest imported only when a case runs) -------------------------------------


def raises(expected: type[BaseException], *, match: str | None = None) -> AbstractContextManager[Any]:
    """`pytest.raises`, importing pytest on first use."""
    import pytest

    return pytest.raises(expected, match=match)


def parametrize(
    argnames: str, argvalues: Sequence[Any], *, ids: Callable[[Any], str | None] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`pytest.mark.parametrize` as plain data on the case; stacked ones name their ids outer
    first, as pytest's marks do. Applied by `pytest_generate_tests` below."""

    def mark(case: Callable[..., Any]) -> Callable[..., Any]:
        case._contract_params = [(argnames, list(argvalues), ids), *getattr(case, "_contract_params", [])]  # type: ignore[attr-defined]
        return case

    return mark


class _Contract:
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        for argnames, argvalues, ids in getattr(metafunc.function, "_contract_params", []):
            metafunc.parametrize(argnames, argvalues, ids=ids)


