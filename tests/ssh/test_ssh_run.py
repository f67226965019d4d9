"""SshEnvironment.run against a real sshd, beyond the Environment contract's cases (which
test_ssh_environment.py runs): what only SSH has (draining a paused channel, a shell error read
as bash reads it locally, the kill over a second channel, a cancel at any moment of the channel's
start, sshd's session limit, a lost connection). The host is this machine, so processes are
checked with /proc and `pgrep -f`."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kode.runtime.environment import EnvironmentError_
from kode.runtime.local import LocalEnvironment
from kode.runtime.ssh import SshEnvironment
from kode.testing.contract_support import process_alive, wait_for, write
from kode.testing.sshd import SshServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_run_slow_consumer_gets_everything(env: SshEnvironment) -> None:
    received: list[str] = []

    async def slow(chunk: str) -> None:
        received.append(chunk)
        await asyncio.sleep(0.02)  # far slower than the command: the channel is paused, then drained

    started = time.monotonic()
    result = await env.run("head -c 4000000 /dev/zero | tr '\\0' x", on_output=slow, output_limit=100)
    assert sum(map(len, received)) == 4_000_000 and result.exit_code == 0
    assert time.monotonic() - started > 2.5  # more than the 2 s drain limit after the exit: nothing cut


async def test_run_syntax_error_reads_as_locally(env: SshEnvironment, ws: Path) -> None:
    for track in (False, True):
        remote = await env.run("if then", track_cwd=track)
        local = await LocalEnvironment(ws).run("if then", track_cwd=track)
        assert remote.exit_code == local.exit_code == 2
        assert "syntax error" in remote.output and "kode" not in remote.output
    assert (await env.run("if then", track_cwd=True)).output == (
        await LocalEnvironment(ws).run("if then", track_cwd=True)
    ).output


# -- processes: a cancel or a failure leaves nothing running on the host ----------------------


def _pgrep(pattern: str) -> list[int]:
    """`pgrep -f`: processes on the host (this machine) whose command line matches `pattern`."""
    done = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, timeout=10)
    return [int(pid) for pid in done.stdout.split() if process_alive(int(pid))]


async def test_cancelled_sleep_leaves_no_remote_process(env: SshEnvironment) -> None:
    marker = f"{1000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    pattern = f"sleep {marker}"
    task = asyncio.create_task(env.run(f"sleep {marker}; echo never"))
    await wait_for(lambda: _pgrep(pattern) != [])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _pgrep(pattern) == []


@pytest.mark.parametrize("delay", [0, 0.005, 0.02, 0.06, 0.15])
async def test_cancel_at_any_moment_of_the_start(env: SshEnvironment, delay: float) -> None:
    """Before the channel opens, while the exec request is answered, while the login shell
    starts, before the command reports its pid: whenever the cancel lands, nothing survives it."""
    marker = f"{2000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    task = asyncio.create_task(env.run(f"sleep {marker}"))
    await asyncio.sleep(delay)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _pgrep(f"sleep {marker}") == []


async def test_failing_on_output_kills_the_command(env: SshEnvironment) -> None:
    marker = f"{3000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"

    def explode(chunk: str) -> None:
        raise RuntimeError("consumer failed")

    with pytest.raises(RuntimeError, match="consumer failed"):
        await env.run(f"echo hi; exec sleep {marker}", on_output=explode)
    assert _pgrep(f"sleep {marker}") == []


async def test_more_concurrent_commands_than_sessions_allowed(env: SshEnvironment) -> None:
    # sshd allows 10 sessions per connection; the environment queues the rest.
    results = await asyncio.gather(*(env.run(f"sleep 0.2; echo {i}") for i in range(14)))
    assert [r.output for r in results] == [f"{i}\n" for i in range(14)]


async def test_a_lost_connection_is_a_clear_error(sshd: SshServer, tmp_path: Path) -> None:
    write(tmp_path / "f.txt", "x")
    env = await SshEnvironment.open(sshd.target(str(tmp_path)), **sshd.connect_kwargs())
    try:
        env.connection.close()
        await env.connection.wait_closed()
        for attempt in (env.read_bytes("f.txt"), env.run("true"), env.walk_files()):
            with pytest.raises(EnvironmentError_, match="connection to .* was lost"):
                await attempt
    finally:
        await env.close()


async def test_close_kills_what_is_still_running(sshd: SshServer, tmp_path: Path) -> None:
    env = await SshEnvironment.open(sshd.target(str(tmp_path)), kill_grace=0.3, **sshd.connect_kwargs())
    marker = f"{4000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    task = asyncio.create_task(env.run(f"sleep {marker}"))
    try:
        await wait_for(lambda: _pgrep(f"sleep {marker}") != [])
    finally:
        await env.close()
    assert _pgrep(f"sleep {marker}") == []
    result = await task
    assert result.exit_code is not None and result.exit_code < 0
