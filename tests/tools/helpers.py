"""Helpers shared by the tool tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from kode.tools.base import Tool, ToolContext, ToolError, ToolResult

Call = Callable[..., Coroutine[Any, Any, ToolResult]]
"""`call(name, **arguments)`: run a tool as the agent loop would (see the `call` fixture)."""


async def run_tool(tool: Tool[Any], params: Any, ctx: ToolContext) -> ToolResult:
    try:
        return await tool.run(params, ctx)
    except ToolError as exc:
        return ToolResult.error(str(exc))


def write(path: Path, content: str | bytes, mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode())
    if mode is not None:
        os.chmod(path, mode)
    return path


def process_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie (nothing may reap orphans in a container)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def live_group_members(pgid: int) -> list[int]:
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(name))
    return members
