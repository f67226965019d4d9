"""Tool round trips through SshEnvironment against LocalEnvironment.

A tool call is timed the way the agent loop makes it (arguments validated, the tool run against
the session's Environment): `read_file` of a small file, and `bash` running `true`. The remote
side is a real OpenSSH sshd on 127.0.0.1 (kode.testing.sshd), so the figures are kode's own
overhead plus SSH's, without network latency. Every remote command starts a login shell, and
bash sources ~/.bashrc for commands run over SSH: that cost is the user's, so `bash` is also
measured with it skipped.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from kode.runtime.environment import Environment
from kode.runtime.local import LocalEnvironment
from kode.runtime.ssh import SshEnvironment
from kode.testing.sshd import SshServer
from kode.tools.base import AgentToolState, ToolContext, ToolError, ToolRegistry, ToolSettings
from kode.tools.builtin import builtin_tools

RUNS = 50
CALLS: dict[str, dict[str, Any]] = {
    "read_file": {"path": "src/small.py"},
    "bash true": {"command": "true"},
}


async def _time_calls(env: Environment, runs: int) -> dict[str, list[float]]:
    registry = ToolRegistry(builtin_tools())
    ctx = ToolContext(env=env, state=AgentToolState(), settings=ToolSettings())
    timings: dict[str, list[float]] = {}
    for label, arguments in CALLS.items():
        tool, params = registry.parse(label.split()[0], arguments)
        samples: list[float] = []
        for i in range(runs + 3):  # three warm-up calls
            started = time.perf_counter()
            try:
                result = await tool.run(params, ctx)
            except ToolError as exc:
                raise SystemExit(f"{label} failed: {exc}") from None
            if result.is_error:
                raise SystemExit(f"{label} failed: {result.output}")
            if i >= 3:
                samples.append(time.perf_counter() - started)
        timings[label] = samples
    return timings


async def _remote(ws: Path, runs: int, *, login_rc: bool) -> tuple[dict[str, list[float]], float]:
    with SshServer(login_rc=login_rc) as server:
        started = time.perf_counter()
        env = await SshEnvironment.open(server.target(str(ws)), **server.connect_kwargs())
        opened = time.perf_counter() - started
        try:
            return await _time_calls(env, runs), opened
        finally:
            await env.close()


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def _line(label: str, local: list[float], remote: list[float], note: str = "") -> str:
    return (
        f"remote tools: {label} {statistics.median(local) * 1000:.1f} ms local vs "
        f"{statistics.median(remote) * 1000:.1f} ms over ssh{note} (median; p95 {_ms(local, 0.95):.1f} / "
        f"{_ms(remote, 0.95):.1f} ms, n={len(remote)})"
    )


async def measure(runs: int = RUNS) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kode-bench-remote-") as tmp:
        ws = Path(tmp)
        (ws / "src").mkdir()
        (ws / "src" / "small.py").write_text("".join(f"value_{i} = {i}\n" for i in range(40)))
        local = await _time_calls(LocalEnvironment(ws), runs)
        remote, opened = await _remote(ws, runs, login_rc=True)
        bare, _ = await _remote(ws, runs, login_rc=False)
    print(f"remote tools: SshEnvironment.open (connect, auth, SFTP, probe) {opened * 1000:.1f} ms")
    for label in CALLS:
        print(_line(label, local[label], remote[label]))
    print(_line("bash true", local["bash true"], bare["bash true"], " without ~/.bashrc"))
    return {
        "read_file_local_ms": statistics.median(local["read_file"]) * 1000,
        "read_file_ssh_ms": statistics.median(remote["read_file"]) * 1000,
        "bash_local_ms": statistics.median(local["bash true"]) * 1000,
        "bash_ssh_ms": statistics.median(remote["bash true"]) * 1000,
        "bash_ssh_no_rc_ms": statistics.median(bare["bash true"]) * 1000,
    }


def main() -> dict[str, float]:
    return asyncio.run(measure())


if __name__ == "__main__":
    main()
