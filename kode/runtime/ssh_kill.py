"""Killing a remote command's process group, and knowing when it is really gone.

`ssh_process` runs every command as the leader of its own process group on the host and learns
its pid. To kill it: a `signal` request on its channel first (OpenSSH delivers it with killpg, at
once, even before the pid is known), then a short POSIX-sh script on a second exec channel that
sends TERM to the group, waits `grace`, sends KILL and waits until no live member is left
(zombies do not count: nothing may reap orphans in a container), like `process_group.kill_group`
does locally.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncssh

_PID_WAIT = 10.0
"""How long a kill waits for the command to report its pid (a slow ~/.bashrc may still be running)."""

_KILL_SCRIPT = """pg={pg}
alive() {{
  if [ -r /proc/self/stat ]; then
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$pg" '{{ sub(/^.*\\) /, ""); if ($3 == g && $1 != "Z" && $1 != "X") {{ f = 1; exit }} }} END {{ exit !f }}'
  else
    kill -0 -"$pg" 2>/dev/null
  fi
}}
kill -TERM -"$pg" 2>/dev/null
i=0; while [ $i -lt {ticks} ] && alive; do sleep 0.02; i=$((i+1)); done
kill -KILL -"$pg" 2>/dev/null
i=0; while [ $i -lt 250 ] && alive; do sleep 0.02; i=$((i+1)); done
if alive; then echo kode-alive; else echo kode-gone; fi
"""


async def kill_group(conn: asyncssh.SSHClientConnection, session: Any, grace: float, slot: asyncio.Semaphore) -> None:
    """TERM, wait `grace`, KILL the command's process group; return once none of it is left."""
    _signal(session, "TERM")  # OpenSSH: killpg(session) right away, even before the pid is known
    try:
        pid = await asyncio.wait_for(asyncio.shield(session.pid), _PID_WAIT)
    except (asyncio.TimeoutError, TimeoutError):
        pid = None
    if pid is not None:
        script = _KILL_SCRIPT.format(pg=pid, ticks=max(0, round(grace / 0.02)))
        with contextlib.suppress(Exception):
            async with slot, asyncio.timeout(grace + 30):
                await conn.run(script, check=False)
    _signal(session, "KILL")
    with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
        await asyncio.wait_for(session.exited.wait(), 2)


def _signal(session: Any, name: str) -> None:
    if session.chan is not None:
        with contextlib.suppress(Exception):
            session.chan.send_signal(name)


async def kill_all(
    conn: asyncssh.SSHClientConnection, sessions: set[Any], grace: float, slot: asyncio.Semaphore
) -> None:
    """Kill the process groups of every command still running (before the connection closes)."""
    await asyncio.gather(*(kill_group(conn, session, grace, slot) for session in list(sessions)), return_exceptions=True)
