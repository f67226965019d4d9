"""`kode ask`: one prompt, one turn, output for scripts, a meaningful exit code.

The command is a client of a session like any other frontend: it submits one message and renders
the events until the turn finishes. Ctrl-C submits a cancel op and exits 130 once the session
has recorded the turn as cancelled (a second Ctrl-C exits at once).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kode.cli import exit_codes


@dataclass(slots=True)
class AskOptions:
    prompt: str = ""
    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    output_format: str = "text"
    max_turns: int | None = None
    permission_mode: str | None = None
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    cwd: Path | None = None
    system: str | None = None
    append_system: str | None = None
    continue_latest: bool = False
    resume: str | None = None
    save: bool = True

    def overrides(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Config overrides from flags, and the flag each came from (for `config show`)."""
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


def read_prompt(arg_prompt: str, stdin: TextIO) -> str:
    """The prompt from arguments, with piped standard input appended (`git diff | kode ask …`)."""
    piped = ""
    if not stdin.isatty():
        piped = stdin.read()
    parts = [part for part in (arg_prompt.strip(), piped.strip("\n")) if part]
    return "\n\n".join(parts)


def run_ask(options: AskOptions) -> int:
    from kode import timings
    from kode.config import ConfigError, load_config
    from kode.llm.keys import resolve_api_key

    timings.mark("cli")

    cwd = (options.cwd or Path.cwd()).resolve()
    if not cwd.is_dir():
        return _fail(f"--cwd {cwd} is not a directory")
    try:
        prompt = read_prompt(options.prompt, sys.stdin)
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"could not read standard input: {exc}")
    if not prompt:
        return _fail('no prompt: pass one as an argument (kode ask "…") or on standard input')
    overrides, labels = options.overrides()
    try:
        loaded = load_config(cwd, overrides=overrides, override_labels=labels)
    except ConfigError as exc:
        return _fail(f"config error:\n{exc}" if "\n" in str(exc) else f"config error: {exc}")
    from kode.config.trust import project_escalation

    timings.mark("config")

    escalation = project_escalation(loaded)
    if escalation:
        return _fail(f"config error: {escalation}")
    settings = loaded.settings
    api_key, problem = resolve_api_key(
        settings.models.main, settings.provider.api_key or None, settings.provider.api_base or None, os.environ
    )
    if problem:
        return _fail(problem)

    from kode.cli.session_open import OpenRequest

    request = OpenRequest(
        cwd=cwd,
        api_key=api_key,
        interactive=False,
        owner="kode ask",
        resume=options.resume,
        continue_latest=options.continue_latest,
        save=options.save,
        first_prompt=prompt,
    )
    code = asyncio.run(_main(loaded, request, prompt, _renderer(options.output_format)))
    timings.report()
    _fast_exit(code)
    return code


async def _main(loaded, request, prompt: str, renderer) -> int:  # type: ignore[no-untyped-def]
    from kode import timings
    from kode.cli.session_open import OpenError, open_session

    try:
        opened = await open_session(loaded, request)
    except OpenError as exc:
        return _fail(str(exc), exc.code)
    for warning in opened.warnings:
        sys.stderr.write(f"kode: warning: {warning}\n")
    timings.mark("wiring")
    try:
        return await _drive(opened.session, prompt, renderer)
    finally:
        await opened.close()


def _renderer(output_format: str):  # type: ignore[no-untyped-def]
    if output_format == "json":
        from kode.render.json_out import JsonRenderer

        return JsonRenderer(sys.stdout)
    if output_format == "stream-json":
        from kode.render.json_out import StreamJsonRenderer

        return StreamJsonRenderer(sys.stdout)
    from kode.render.text import TextRenderer

    return TextRenderer(sys.stdout, sys.stderr)


async def _drive(session, prompt: str, renderer) -> int:  # type: ignore[no-untyped-def]
    from kode import timings
    from kode.client.inprocess import InProcessClient
    from kode.protocol.common import ROOT_AGENT, TurnStatus
    from kode.protocol.events import TurnFinished
    from kode.protocol.ops import Cancel, SubmitMessage

    client = InProcessClient(session)
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_signal() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            sys.stderr.write("kode: interrupted\n")
            os._exit(exit_codes.INTERRUPTED)
        loop.create_task(client.submit(Cancel()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)

    finished: TurnFinished | None = None
    events = client.events(session.log.last_seq)  # a resumed session's history is not replayed
    await client.submit(SubmitMessage(text=prompt))
    async for event in events:
        renderer.event(event)
        if isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
            finished = event
            break
    timings.mark("turn_rest")
    renderer.finish(finished, session_id=client.session_id)
    timings.mark("render")
    if finished is None:
        return exit_codes.AGENT_ERROR
    if finished.status is TurnStatus.CANCELLED or interrupts:
        return exit_codes.INTERRUPTED
    return exit_codes.OK if finished.status is TurnStatus.COMPLETED else exit_codes.AGENT_ERROR


def _fast_exit(code: int) -> None:
    """Skip interpreter teardown once litellm is loaded: it costs about a second, for nothing.

    Output is flushed first and no child process is running (tools reap their process groups),
    so there is nothing left for teardown to do that matters.
    """
    if "litellm" not in sys.modules:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
