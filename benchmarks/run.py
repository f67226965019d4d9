"""All benchmarks, one command: `python benchmarks/run.py`. Prints the figures the issues ask for."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ask  # noqa: E402
import attach_latency  # noqa: E402
import loop_overhead  # noqa: E402
import remote_tools  # noqa: E402
import repomap  # noqa: E402
import server_fanout  # noqa: E402
import server_sessions  # noqa: E402
import startup  # noqa: E402
import store  # noqa: E402
import tui_startup  # noqa: E402
import tui_streaming  # noqa: E402


def main() -> None:
    print("== startup")
    startup.main()
    print("== kode ask")
    ask.main()
    print("== agent loop")
    loop_overhead.main()
    print("== store")
    store.main([])
    print("== tui")
    tui_startup.main()
    tui_streaming.main([])
    tui_streaming.main(["--attach"])
    print("== server")
    server_fanout.main()
    server_sessions.main()
    print("== repo map")
    repomap.main()
    print("== remote")
    remote_tools.main()
    attach_latency.main()


if __name__ == "__main__":
    main()
