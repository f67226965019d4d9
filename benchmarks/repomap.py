"""The repo map on a real code base: `python benchmarks/repomap.py [--tokens N] [--min-files N]`.

The workspace is a copy of this machine's Python standard library (`.py` files; site-packages
left out, except that whole packages from it are added, in name order, when the stdlib alone has
fewer than --min-files files). The map is built twice in fresh processes, each measured by
`_util.measure` (wall time from fork to exit, the child's peak RSS):
- cold: an empty session store (a SQLite file), so every file is parsed;
- warm: the same store, so every file's tags come from the store's `repo_tags` table;
- warm again under tracemalloc, for the peak of Python allocations alone (RSS also counts the
  interpreter, the grammars and the allocator's slack).
The child also reports its own build time (excluding interpreter start-up and imports) and the
rank of `json/decoder.py` for the request "how does json.decoder scan strings" (goal: top 10).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import measure  # noqa: E402

QUERY = "how does json.decoder scan strings"
TARGET = "json/decoder.py"


def _py_files(root: Path, *, skip_site_packages: bool) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        if skip_site_packages:
            dirnames[:] = [d for d in dirnames if d not in ("site-packages", "dist-packages", "__pycache__")]
        else:
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        out += [Path(dirpath, f) for f in filenames if f.endswith(".py")]
    return out


def make_workspace(dest: Path, min_files: int) -> tuple[int, list[str]]:
    """Copy the stdlib's .py files (and, if needed, site-packages packages) to `dest`."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [(path, path.relative_to(stdlib)) for path in _py_files(stdlib, skip_site_packages=True)]
    extra: list[str] = []
    site = stdlib / "site-packages"
    if len(files) < min_files and site.is_dir():
        for package in sorted(site.iterdir()):
            if len(files) >= min_files:
                break
            if package.is_dir() and not package.name.endswith(("-info", "__pycache__")):
                found = _py_files(package, skip_site_packages=False)
                if found:
                    extra.append(package.name)
                    files += [(path, Path("site-packages") / path.relative_to(site)) for path in found]
    for source, rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return len(files), extra


def child(workspace: Path, database: Path, tokens: int, trace: bool = False) -> None:
    """One build in this process; prints a JSON line with the figures (with `trace`, the peak of
    Python allocations too: tracemalloc slows the build, so its time is not the one to quote)."""
    from kode.repo.repomap import build_repo_map, estimate_tokens
    from kode.runtime.local import LocalEnvironment
    from kode.store import Store

    async def build():  # noqa: ANN202
        async with await Store.open(f"sqlite+aiosqlite:///{database}") as store:  # the session store
            started = time.perf_counter()
            built = await build_repo_map(LocalEnvironment(workspace), tokens=tokens, query=QUERY, store=store)
            return built, time.perf_counter() - started

    if trace:
        tracemalloc.start()
    repo_map, seconds = asyncio.run(build())
    ranked = [path for path, _ in repo_map.ranking.files]
    rank = ranked.index(TARGET) + 1 if TARGET in ranked else None
    print(json.dumps({
        "seconds": seconds, "files": repo_map.stats.files, "parsed": repo_map.stats.parsed,
        "hits": repo_map.stats.cache_hits, "rank": rank, "top": ranked[:5],
        "shown": len(repo_map.shown), "map_tokens": estimate_tokens(repo_map.text),
        "traced_peak_mb": tracemalloc.get_traced_memory()[1] / 2**20 if trace else None,
    }))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--min-files", type=int, default=2000)
    parser.add_argument("--child", nargs=2, metavar=("WORKSPACE", "DATABASE"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.tokens, args.trace)
        return
    with tempfile.TemporaryDirectory(prefix="kode-repomap-") as tmp:
        workspace, database = Path(tmp) / "stdlib", Path(tmp) / "kode.db"
        count, extra = make_workspace(workspace, args.min_files)
        print(f"repo map: {count} .py files (stdlib{' + site-packages: ' + ', '.join(extra) if extra else ''}), "
              f"budget {args.tokens} tokens")
        argv_child = [sys.executable, __file__, "--tokens", str(args.tokens), "--child", str(workspace), str(database)]
        for label in ("cold", "warm"):
            run = measure(argv_child)
            if run.returncode != 0:
                print(f"  {label}: failed ({run.returncode})\n{run.output}")
                return
            figures = json.loads(run.output.strip().splitlines()[-1])
            print(f"  {label}: build {figures['seconds']:.2f} s (process {run.wall:.2f} s), "
                  f"peak RSS {run.max_rss_mb:.0f} MB, {figures['files']} files, parsed {figures['parsed']}, "
                  f"cache hits {figures['hits']}; map shows {figures['shown']} files in {figures['map_tokens']} tokens")
        traced = json.loads(measure([*argv_child, "--trace"]).output.strip().splitlines()[-1])
        print(f"  warm, Python heap peak (tracemalloc): {traced['traced_peak_mb']:.0f} MB")
        rank = figures["rank"]
        verdict = "ok" if rank is not None and rank <= 10 else "MISSED (goal: top 10)"
        print(f"  {QUERY!r}: {TARGET} ranks {rank} ({verdict}); top 5: {', '.join(figures['top'])}")


if __name__ == "__main__":
    main()
