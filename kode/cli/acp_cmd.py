"""`kode acp`: kode as an Agent Client Protocol agent on stdin/stdout, for editors (Zed, JetBrains…).

The command checks config and key once at start (a broken setup is one line on stderr and exit
2, which editors show), then serves the connection until the editor closes stdin: exit 0.
Sessions are stored like every other kode session, so `kode --resume ID` continues them too.
stdout carries protocol messages only; everything else goes to stderr (see kode.acp.stdio).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

from kode.cli import exit_codes
from kode.cli.common import Prepared, Refused, SessionFlags, fail, fast_exit, prepare, warm_litellm


def run_acp(flags: SessionFlags) -> int:
    try:
        prepared = prepare(flags)
    except Refused as exc:
        return fail(str(exc), exc.code)
    from kode.acp.stdio import reserve_stdout

    protocol_fd = reserve_stdout()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="kode acp: %(levelname)s: %(message)s")
    warm_litellm()  # the editor starts kode when a thread opens; the first prompt comes later
    try:
        asyncio.run(_serve(flags, prepared, protocol_fd))
    except KeyboardInterrupt:
        pass
    code = exit_codes.OK
    fast_exit(code)
    return code


async def _serve(flags: SessionFlags, first: Prepared, protocol_fd: int) -> None:
    from kode.acp import KodeAgent
    from kode.acp.stdio import serve

    await serve(KodeAgent(hub_factory(flags, first), first.cwd), protocol_fd)


def hub_factory(flags: SessionFlags, first: Prepared):  # type: ignore[no-untyped-def]
    """Builds the hub for each workspace the editor opens, with that workspace's config layered in
    (its `.kode/config.toml`), judged exactly as `kode ask` would judge it there."""
    from kode.acp import SetupError
    from kode.host.hub import SessionHub
    from kode.host.opening import OpenError

    async def make(cwd: Path) -> SessionHub:
        if cwd == first.cwd:
            prepared = first
        else:
            try:
                prepared = prepare(dataclasses.replace(flags, cwd=cwd))
            except Refused as exc:
                raise SetupError(f"{cwd}: {exc}") from None
        settings = prepared.loaded.settings
        hub = SessionHub(
            prepared.loaded,
            cwd=prepared.cwd,
            api_key=prepared.api_key,
            save=flags.save,
            owner="kode acp",
            title_model=settings.models.fast or settings.models.main,
        )
        try:
            await hub.start()
        except OpenError as exc:
            raise SetupError(str(exc)) from None
        return hub

    return make


def main(argv: list[str] | None = None) -> int:
    """`python -m kode.cli.acp_cmd [--model M] [--api-base URL] [--permission-mode MODE] …`:
    the ACP agent without the typer app (for tests, and editors until `kode acp` is wired)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kode.cli.acp_cmd")
    parser.add_argument("--model")
    parser.add_argument("--api-base")
    parser.add_argument("--cwd", type=Path)
    parser.add_argument("--permission-mode", choices=["default", "accept-edits", "plan", "bypass"])
    parser.add_argument("--allow", action="append", default=[])
    parser.add_argument("--deny", action="append", default=[])
    parser.add_argument("--no-save", dest="save", action="store_false")
    args = parser.parse_args(argv)
    return run_acp(
        SessionFlags(
            model=args.model,
            api_base=args.api_base,
            cwd=args.cwd,
            permission_mode=args.permission_mode,
            allow=args.allow,
            deny=args.deny,
            save=args.save,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
