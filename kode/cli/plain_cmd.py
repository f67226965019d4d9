"""`kode --plain`: the line-mode REPL on a session in this process.

Opens the session as the TUI does (same flags, same checks, `interactive=True`), but drives it
from `kode.repl.PlainRepl` on the main asyncio loop: no thread, no full-screen app.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from kode.cli import exit_codes
from kode.cli.common import Refused, fail, fast_exit, prepare
from kode.cli.tui_cmd import TuiOptions

PlainOptions = TuiOptions
"""The same flags as the TUI (`theme` and `context_window` are ignored)."""


def run_plain(options: TuiOptions) -> int:
    try:
        prepared = prepare(options)
    except Refused as exc:
        return fail(str(exc), exc.code)
    settings = prepared.loaded.settings

    from kode.config import data_dir
    from kode.host.opening import OpenError, OpenRequest, open_session
    from kode.repl import PlainRepl, PromptToolkitSource, ReplCompleter, StreamSource, open_history

    async def open_client(*, fresh: bool) -> Any:
        request = OpenRequest(
            cwd=prepared.cwd,
            api_key=prepared.api_key,
            interactive=True,
            owner="kode --plain",
            resume=None if fresh else options.resume,
            continue_latest=False if fresh else options.continue_latest,
            save=options.save,
            remote=options.remote,
            title_model=settings.models.fast or settings.models.main,
        )
        opened = await open_session(prepared.loaded, request)
        for warning in opened.warnings:
            sys.stderr.write(f"kode: warning: {warning}\n")
        return opened.client()

    async def main() -> int:
        try:
            client = await open_client(fresh=False)
        except OpenError as exc:
            return fail(str(exc), exit_codes.for_open_error(exc))
        if sys.stdin.isatty():
            source: Any = PromptToolkitSource(
                history=open_history(prepared.cwd, data_dir()), completer=ReplCompleter(prepared.cwd)
            )
        else:
            source = StreamSource(sys.stdin, echo=sys.stdout)

        async def fresh_client() -> Any:
            return await open_client(fresh=True)

        repl = PlainRepl(
            client,
            source,
            sys.stdout,
            new_client=fresh_client,
            model=settings.models.main,
            permission_mode=settings.permissions.mode,
        )
        return await repl.run()

    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        code = exit_codes.INTERRUPTED
    fast_exit(code)
    return code
