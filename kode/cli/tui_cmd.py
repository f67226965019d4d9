"""`kode` with no subcommand: the interactive TUI on a session in this process.

Wires a real session (config, model, tools, local environment, policy) into an InProcessClient
and runs `KodeApp` on it. litellm's slow import is started in a background thread only after the
first paint, so the prompt is usable at once; the first model call waits for it if needed.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kode.cli import exit_codes
from kode.cli.common import Refused, SessionFlags, fail, fast_exit, prepare


@dataclass(slots=True)
class TuiOptions(SessionFlags):
    theme: str | None = None
    """A theme name for this run (the remembered choice is not changed)."""
    context_window: int | None = None
    """Tokens the status line measures context use against (default 200k)."""


def _warm_litellm() -> None:
    """Import litellm off the UI thread (seconds of imports) so the first turn does not wait."""

    def load() -> None:
        try:
            from kode.llm.litellm_adapter import load_litellm

            load_litellm()
        except Exception:  # noqa: BLE001 - the first model call will import it again and report
            pass
        # litellm leaves a heap of long-lived objects; without this every full collection scans
        # them all and freezes the UI for ~0.4 s. Frozen objects are never scanned again.
        gc.freeze()

    threading.Thread(target=load, name="kode-warm-litellm", daemon=True).start()


def run_tui(options: TuiOptions) -> int:
    from kode import timings

    timings.mark("cli")
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get("KODE_TUI_FORCE"):
        return fail('the TUI needs a terminal; use `kode ask "…"` in scripts and pipes')
    try:
        prepared = prepare(options)
    except Refused as exc:
        return fail(str(exc), exc.code)
    settings = prepared.loaded.settings

    from kode.cli.tui_actions import StoreActions
    from kode.client.threaded import ThreadedClient
    from kode.tui import AppOptions, FactoryActions, KodeApp

    def opener(resume: str | None, continue_latest: bool = False) -> Callable[[], Awaitable[Any]]:
        async def open_client() -> Any:
            from kode.cli.session_open import OpenRequest, open_session

            request = OpenRequest(
                cwd=prepared.cwd,
                api_key=prepared.api_key,
                interactive=True,
                owner="kode",
                resume=resume,
                continue_latest=continue_latest,
                save=options.save,
                title_model=settings.models.fast or settings.models.main,
            )
            opened = await open_session(prepared.loaded, request)
            return opened.client()

        return open_client

    client = ThreadedClient(opener(options.resume, options.continue_latest))

    def first_paint() -> None:
        timings.mark("tui_first_paint")
        client.start()
        _warm_litellm()

    extra: dict[str, Any] = {}
    if options.context_window:
        extra["context_window"] = options.context_window
    app_options = AppOptions.standard(
        prepared.cwd,
        model=settings.models.main,
        permission_mode=settings.permissions.mode,
        theme=options.theme or "",
        actions=StoreActions(opener, prepared.cwd, settings.store.url or None)
        if options.save
        else FactoryActions(lambda: ThreadedClient(opener(None))),
        on_ready=first_paint,
        **extra,
    )
    timings.mark("wiring")
    code = KodeApp(client, options=app_options).run()
    timings.report()
    code = code if isinstance(code, int) else exit_codes.OK
    if client.error is not None:
        code = fail(f"could not open the session: {client.error}", getattr(client.error, "code", exit_codes.AGENT_ERROR))
    fast_exit(code)
    return code


def main(argv: list[str] | None = None) -> int:
    """`python -m kode.cli.tui_cmd [--model M] [--cwd DIR] [--theme NAME] [--permission-mode MODE]`:
    the TUI without the typer app (for tests and benchmarks until `kode` runs it)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kode.cli.tui_cmd")
    parser.add_argument("--model")
    parser.add_argument("--api-base")
    parser.add_argument("--cwd", type=Path)
    parser.add_argument("--theme")
    parser.add_argument("--permission-mode", choices=["default", "accept-edits", "plan", "bypass"])
    args = parser.parse_args(argv)
    return run_tui(
        TuiOptions(model=args.model, api_base=args.api_base, cwd=args.cwd, theme=args.theme, permission_mode=args.permission_mode)
    )


if __name__ == "__main__":
    sys.exit(main())
