"""Shared helpers for the benchmarks: run a command once, measuring wall time and peak RSS."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KODE = str(Path(sys.executable).with_name("kode"))


@dataclass
class Run:
    wall: float
    max_rss_mb: float
    returncode: int
    output: str


def measure(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """fork/exec/wait4: the child's own peak RSS, and wall time from fork to exit."""
    with tempfile.TemporaryFile(mode="w+") as sink:
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.dup2(sink.fileno(), 1)
                os.dup2(sink.fileno(), 2)
                if cwd is not None:
                    os.chdir(cwd)
                os.execve(argv[0], argv, env if env is not None else dict(os.environ))
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - started
        sink.seek(0)
        return Run(wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), sink.read())


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, min {ordered[0] * 1000:.1f} ms, "
        f"p90 {p90 * 1000:.1f} ms (n={len(values)})"
    )
