"""`kode ask` against the fake provider with an instant reply: wall time, peak RSS, and phases.

Phases come from `KODE_TIMINGS=1` (kode/timings.py): startup = interpreter + `kode` import,
cli = typer import and parsing, config, wiring = core/tools imports and session set-up,
litellm_import, request = until response headers, stream = reading the reply, turn_rest,
render; total is from process start to just before exit.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
from pathlib import Path

from _util import KODE, describe, measure

from kode.testing.fake_provider import FakeProvider


def main(runs: int = 8) -> dict[str, float]:
    with FakeProvider(echo=True) as fp, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KODE_")},
            "HOME": str(home),
            "KODE_CONFIG_DIR": str(home / "config"),
            "KODE_MODEL": "openai/gpt-4o-mini",
            "KODE_API_BASE": fp.openai_base,
            "OPENAI_API_KEY": "sk-bench",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "KODE_TIMINGS": "1",
        }
        argv = [KODE, "ask", "say ok"]
        measure(argv, env=env, cwd=home)  # warm caches (and litellm's .pyc files)
        walls, rss, phases = [], [], {}
        for _ in range(runs):
            run = measure(argv, env=env, cwd=home)
            assert run.returncode == 0, run.output
            walls.append(run.wall)
            rss.append(run.max_rss_mb)
            for name, value in re.findall(r"(\w+)=(\d+)ms", run.output):
                phases.setdefault(name, []).append(int(value))
    print(f"kode ask (instant reply) wall: {describe(walls)}")
    print(f"kode ask peak RSS: median {statistics.median(rss):.0f} MB, max {max(rss):.0f} MB")
    print("kode ask phases (median ms): " + ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in phases.items()))
    return {"wall": statistics.median(walls), "rss_mb": statistics.median(rss)}


if __name__ == "__main__":
    main()
