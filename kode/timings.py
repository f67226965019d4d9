"""Phase timings for one process, printed to stderr when `KODE_TIMINGS=1`.

Used by `benchmarks/` to show where `kode ask` spends its time (interpreter start, imports,
config, litellm import, model request, rendering) without a profiler. Costs nothing when off.
"""

from __future__ import annotations

import os
import sys
import time

ENABLED = os.environ.get("KODE_TIMINGS") == "1"
_marks: list[tuple[str, float]] = []


def _process_age() -> float:
    """Seconds since this process started (Linux /proc), so interpreter start-up is counted."""
    try:
        with open("/proc/self/stat") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
        return max(0.0, up - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


_origin = time.perf_counter() - (_process_age() if ENABLED else 0.0)


def mark(name: str) -> None:
    """Record that phase `name` ended now."""
    if ENABLED:
        _marks.append((name, time.perf_counter()))


def report() -> None:
    if not ENABLED or not _marks:
        return
    parts, previous = [], _origin
    for name, at in _marks:
        parts.append(f"{name}={1000 * (at - previous):.0f}ms")
        previous = at
    parts.append(f"total={1000 * (previous - _origin):.0f}ms")
    sys.stderr.write("kode timings: " + " ".join(parts) + "\n")
    sys.stderr.flush()
