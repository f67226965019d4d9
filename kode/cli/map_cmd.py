"""`kode map`: print the repo map of a workspace, the same text the model would be shown.

`python -m kode.cli.map_cmd [--tokens N] [--query TEXT] [FILES...]` works without the typer app,
which makes the map easy to inspect while tuning the ranking.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from kode.cli import exit_codes


def default_cache_dir() -> Path:
    """Parsed tags live beside kode's other data, shared by every workspace (keys are content hashes)."""
    from kode.config.paths import data_dir

    return data_dir() / "cache" / "repo"


def run_map(cwd: Path, tokens: int, files: list[str], query: str, *, cache_dir: Path | None = None) -> int:
    """Print the map of the workspace at `cwd` for `files` (mentioned) and `query`; the exit code."""
    from kode.repo.repomap import build_repo_map
    from kode.runtime.environment import EnvironmentError_
    from kode.runtime.local import LocalEnvironment

    if tokens <= 0:
        print("kode map: --tokens must be positive", file=sys.stderr)
        return exit_codes.USAGE
    try:
        env = LocalEnvironment(cwd.resolve())
        repo_map = asyncio.run(
            build_repo_map(env, tokens=tokens, files=files, query=query,
                           cache_dir=cache_dir if cache_dir is not None else default_cache_dir())
        )
    except (EnvironmentError_, OSError) as exc:
        print(f"kode map: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    if repo_map.text:
        sys.stdout.write(repo_map.text)
    else:
        print("kode map: no source files with definitions found", file=sys.stderr)
    return exit_codes.OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kode.cli.map_cmd", description="Print the repo map.")
    parser.add_argument("--tokens", type=int, default=1024, help="token budget of the map (default 1024)")
    parser.add_argument("--query", default="", help="the request the map is for")
    parser.add_argument("--cwd", type=Path, default=Path.cwd(), help="workspace (default: current directory)")
    parser.add_argument("files", nargs="*", help="files mentioned in the conversation")
    args = parser.parse_args(argv)
    return run_map(args.cwd, args.tokens, args.files, args.query)


if __name__ == "__main__":
    sys.exit(main())
