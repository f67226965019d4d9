"""Starting a command in its own process group, killing the whole group, and knowing when it
is really gone.

Commands run with `start_new_session=True`, so each leads its own process group and everything
it starts (children, grandchildren, background jobs) is in it, unless it calls setsid itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import Any


async def spawn_group(argv: list[str], **kwargs: Any) -> asyncio.subprocess.Process:
    """`create_subprocess_exec` with `start_new_session=True`, safe against a cancel mid-start.

    asyncio's own clean-up for a cancel that lands while it finishes starting the process kills
    only the leader, and on a busy machine the command has already started children by then;
    they would run on with nobody to kill them. Here the start always completes, and a cancel
    kills the whole group before it propagates.
    """
    start = asyncio.ensure_future(asyncio.create_subprocess_exec(*argv, start_new_session=True, **kwargs))
    try:
        return await asyncio.shield(start)
    except asyncio.CancelledError:
        proc: asyncio.subprocess.Process | None = None
        with contextlib.suppress(OSError):
            proc = await start
        if proc is not None:
            await kill_group(proc, 0)
        raise


async def kill_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the process group, wait up to `grace` seconds, SIGKILL whatever is left, reap."""
    pgid = proc.pid  # start_new_session=True: the child leads its own group
    try:
        signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(pgid):
            await asyncio.sleep(0.02)
    finally:
        # Runs even if we are cancelled again while waiting: never leave the group alive.
        signal_group(pgid, signal.SIGKILL)
    with contextlib.suppress(asyncio.TimeoutError, ProcessLookupError):
        await asyncio.wait_for(proc.wait(), timeout=5)
    # SIGKILL is delivered asynchronously: members other than the leader can take a moment to
    # die. Return only once none is left, so "nothing it started is still running" holds.
    deadline = time.monotonic() + 5
    while group_alive(pgid) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process belongs to process group `pgid`."""
    proc_dir = "/proc"
    if not os.path.isdir(proc_dir):
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for name in os.listdir(proc_dir):
        if not name.isdigit():
            continue
        try:
            with open(f"{proc_dir}/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False
