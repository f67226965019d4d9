"""`kode map`: print the repo map of a workspace, the same text the model would be shown.

`python -m kode.cli.map_cmd [--tokens N] [--query TEXT] [FILES...]` works without the typer app,
which makes the map easy to inspect while tuning the ranking.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kode.cli import exit_codes

if TYPE_CHECKING:
    from kode.repo.repomap import RepoMap
    from kode.store import Store


def run_map(cwd: Path, tokens: int, files: list[str], query: str, *, store_url: str | None = None) -> int:
    """Print the map of the workspace at `cwd` for `files` (mentioned) and `query`; the exit code.

    Parsed tags are kept in the session store (`store_url`, else the configured one), shared with
    every session; a store that cannot be opened only means parsing everything again."""
    from kode.repo.repomap import build_repo_map
    from kode.runtime.environment import EnvironmentError_
    from kode.runtime.local import LocalEnvironment

    if tokens <= 0:
        print("kode map: --tokens must be positive", file=sys.stderr)
        return exit_codes.USAGE

    async def build() -> RepoMap:
        env = LocalEnvironment(cwd.resolve())
        store = await _open_store(cwd, store_url)
        try:
            return await build_repo_map(env, tokens=tokens, files=files, query=query, store=store)
        finally:
            if store is not None:
                await store.close()

    try:
        repo_map = asyncio.run(build())
    except (EnvironmentError_, OSError) as exc:
        print(f"kode map: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    if repo_map.text:
        sys.stdout.write(repo_map.text)
    else:
        print("kode map: no source files with definitions found", file=sys.stderr)
    return exit_codes.OK


async def _open_store(cwd: Path, url: str | None) -> Store | None:
    from kode.config import ConfigError, load_config
    from kode.store import Store, StoreError

    try:
        if url is None:
            url = load_config(cwd).settings.store.url or None
        store = await Store.open(url)
    except (ConfigError, StoreError, OSError) as exc:
        print(f"kode map: warning: no tag cache ({exc}); parsing every file", file=sys.stderr)
        return None
    for warning in store.warnings:
        print(f"kode map: warning: {warning}", file=sys.stderr)
    return store


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
