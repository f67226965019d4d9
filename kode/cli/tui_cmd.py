"""`kode` with no subcommand: the interactive TUI on a session in this process.

Wires a real session (config, model, tools, local environment, policy) into an InProcessClient
and runs `KodeApp` on it. litellm's slow import is started in a background thread only after the
first paint, so the prompt is usable at once; the first model call waits for it if needed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kode.cli import exit_codes
from kode.cli.common import Refused, SessionFlags, fail, fast_exit, prepare, warm_litellm


@dataclass(slots=True)
class TuiOptions(SessionFlags):
    theme: str | None = None
    """A theme name for this run (the remembered choice is not changed)."""
    context_window: int | None = None
    """Tokens the status line measures context use against (default 200k)."""
    serve: bool = False
    """`kode --serve`: also serve this session (and others) over HTTP."""
    host: str | None = None
    port: int | None = None
    token_file: Path | None = None


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
            from kode.host.opening import OpenRequest, open_session

            request = OpenRequest(
                cwd=prepared.cwd,
                api_key=prepared.api_key,
                interactive=True,
                owner="kode",
                resume=resume,
                continue_latest=continue_latest,
                save=options.save,
                remote=options.remote,
                title_model=settings.models.fast or settings.models.main,
            )
            opened = await open_session(prepared.loaded, request)
            if listening is not None and not served:
                served.append(await serve_embedded(prepared, opened, listening, save=options.save))
            return opened.client()

        return open_client

    listening = None
    served: list[Any] = []
    """The embedded server of `kode --serve`: started with the first session, which it also serves."""
    if options.serve:
        from kode.cli.serve_cmd import listen

        try:
            listening = listen(prepared, options)  # type: ignore[arg-type]
        except Refused as exc:
            return fail(str(exc), exc.code)

    client = ThreadedClient(opener(options.resume, options.continue_latest))

    def first_paint() -> None:
        timings.mark("tui_first_paint")
        client.start()
        warm_litellm()

    extra: dict[str, Any] = {}
    if options.remote:
        extra["list_paths"] = list  # @ completion lists local files; the workspace is remote
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
        banner_note=serving_note(listening) if listening is not None else remote_note(options.remote),
        **extra,
    )
    timings.mark("wiring")
    code = KodeApp(client, options=app_options).run()
    timings.report()
    code = code if isinstance(code, int) else exit_codes.OK
    if client.error is not None:
        code = fail(f"could not open the session: {client.error}", exit_codes.for_open_error(client.error))
    fast_exit(code)
    return code


def remote_note(remote: str | None) -> str:
    return f"tools run on {remote}" if remote else ""


def serving_note(listening: Any) -> str:
    url = f"http://{listening.host}:{listening.sock.getsockname()[1]}"
    token = f"token {listening.token} (shown once; saved in {listening.token_source})" if listening.token_created else f"token in {listening.token_source}"
    return f"serving this session on {url} · {token} · kode attach {url}"


async def serve_embedded(prepared: Any, opened: Any, listening: Any, *, save: bool) -> Any:
    """Start `kode --serve`'s server on the session's loop, hosting the TUI's own session."""
    import asyncio

    from kode.cli.serve_cmd import hub_for
    from kode.server.runner import Server

    hub = hub_for(prepared, save=save, owner="kode --serve")
    await hub.start()
    hub.adopt(opened)
    settings = prepared.loaded.settings.server.model_copy(update={"host": listening.host})
    server = Server(hub, settings, token=listening.token, sock=listening.sock)
    asyncio.get_running_loop().create_task(server.serve(), name="kode-embedded-server")
    return server


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
