"""`kode` with no subcommand: the interactive TUI on a session in this process.

Wires a real session (config, model, tools, local environment, policy) into an InProcessClient
and runs `KodeApp` on it. litellm's slow import is started in a background thread only after the
first paint, so the prompt is usable at once; the first model call waits for it if needed.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kode.cli import exit_codes


@dataclass(slots=True)
class TuiOptions:
    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    permission_mode: str | None = None
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    cwd: Path | None = None
    max_turns: int | None = None
    system: str | None = None
    append_system: str | None = None
    theme: str | None = None
    """A theme name for this run (the remembered choice is not changed)."""
    context_window: int | None = None
    """Tokens the status line measures context use against (default 200k)."""

    def overrides(self) -> tuple[dict[str, Any], dict[str, str]]:
        pairs = {
            "models.main": (self.model, "--model"),
            "provider.api_base": (self.api_base, "--api-base"),
            "provider.api_key": (self.api_key, "--api-key"),
            "agent.max_turns": (self.max_turns, "--max-turns"),
            "permissions.mode": (self.permission_mode, "--permission-mode"),
            "permissions.allow": (self.allow or None, "--allow"),
            "permissions.deny": (self.deny or None, "--deny"),
            "agent.system_prompt": (self.system, "--system"),
            "agent.append_system_prompt": (self.append_system, "--append-system"),
        }
        values = {key: value for key, (value, _) in pairs.items() if value is not None}
        return values, {key: label for key, (_, label) in pairs.items() if key in values}


def _fail(message: str, code: int = exit_codes.USAGE) -> int:
    sys.stderr.write(f"kode: {message}\n")
    return code


def _warm_litellm() -> None:
    """Import litellm off the UI thread (seconds of imports) so the first turn does not wait."""

    def load() -> None:
        try:
            from kode.llm.litellm_adapter import load_litellm

            load_litellm()
        except Exception:  # noqa: BLE001 - the first model call will import it again and report
            pass

    threading.Thread(target=load, name="kode-warm-litellm", daemon=True).start()


class DeferredClient:
    """A SessionClient whose session is built in a thread after the first paint.

    Importing the core (permissions, tools, bashlex, pydantic models) takes a few hundred
    milliseconds; the TUI paints and takes typing meanwhile. `submit` and `events` wait until the
    session exists, so a message typed at once is sent as soon as it can be.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._error: BaseException | None = None
        self._ready: asyncio.Event | None = None
        self._started = False

    @property
    def session_id(self) -> str:
        return self._client.session_id if self._client is not None else ""

    def start(self) -> None:
        """Begin building; call from the app's event loop (e.g. its first-paint callback)."""
        if self._started:
            return
        self._started = True
        loop = asyncio.get_running_loop()
        ready = self._event()

        def build() -> None:
            try:
                self._client = self._build()
            except BaseException as exc:  # noqa: BLE001 - reported through events()
                self._error = exc
            loop.call_soon_threadsafe(ready.set)

        threading.Thread(target=build, name="kode-build-session", daemon=True).start()

    def _event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    async def _wait(self) -> Any:
        if not self._started:
            self.start()
        await self._event().wait()
        if self._error is not None:
            raise RuntimeError(f"could not start the session: {self._error}") from self._error
        return self._client

    async def submit(self, op: Any) -> None:
        await (await self._wait()).submit(op)

    async def events(self, since: int = 0) -> AsyncIterator[Any]:
        client = await self._wait()
        async for event in client.events(since):
            yield event

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def run_tui(options: TuiOptions) -> int:
    from kode import timings
    from kode.config import ConfigError, load_config

    timings.mark("cli")
    cwd = (options.cwd or Path.cwd()).resolve()
    if not cwd.is_dir():
        return _fail(f"--cwd {cwd} is not a directory")
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get("KODE_TUI_FORCE"):
        return _fail('the TUI needs a terminal; use `kode ask "…"` in scripts and pipes')
    overrides, labels = options.overrides()
    try:
        loaded = load_config(cwd, overrides=overrides, override_labels=labels)
    except ConfigError as exc:
        return _fail(f"config error:\n{exc}" if "\n" in str(exc) else f"config error: {exc}")
    from kode.config.trust import project_escalation
    from kode.llm.keys import resolve_api_key

    escalation = project_escalation(loaded)
    if escalation:
        return _fail(f"config error: {escalation}")
    settings = loaded.settings
    api_key, problem = resolve_api_key(
        settings.models.main, settings.provider.api_key or None, settings.provider.api_base or None, os.environ
    )
    if problem:
        return _fail(problem)

    from kode.tui import AppOptions, FactoryActions, KodeApp

    def new_client() -> Any:
        from kode.cli.wiring import Wiring, build_session
        from kode.client.inprocess import InProcessClient

        session = build_session(loaded, Wiring(cwd=cwd, api_key=api_key, interactive=True))
        session.start()
        return InProcessClient(session)

    client = DeferredClient(new_client)

    def first_paint() -> None:
        timings.mark("tui_first_paint")
        client.start()
        _warm_litellm()

    extra: dict[str, Any] = {}
    if options.context_window:
        extra["context_window"] = options.context_window
    app_options = AppOptions.standard(
        cwd,
        model=settings.models.main,
        permission_mode=settings.permissions.mode,
        theme=options.theme or "",
        actions=FactoryActions(new_client),
        on_ready=first_paint,
        **extra,
    )
    timings.mark("wiring")
    app = KodeApp(client, options=app_options)
    code = app.run()
    timings.report()
    code = code if isinstance(code, int) else exit_codes.OK
    _fast_exit(code)
    return code


def _fast_exit(code: int) -> None:
    """Skip interpreter teardown once litellm is loaded (about a second, for nothing)."""
    if "litellm" not in sys.modules:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


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
