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
from dataclasses import dataclass
from typing import TextIO

from kode.cli import exit_codes
from kode.cli.common import Refused, SessionFlags, fail, fast_exit, prepare


@dataclass(slots=True)
class AskOptions(SessionFlags):
    prompt: str = ""
    output_format: str = "text"


def read_prompt(arg_prompt: str, stdin: TextIO) -> str:
    """The prompt from arguments, with piped standard input appended (`git diff | kode ask …`)."""
    piped = ""
    if not stdin.isatty():
        piped = stdin.read()
    parts = [part for part in (arg_prompt.strip(), piped.strip("\n")) if part]
    return "\n\n".join(parts)


def run_ask(options: AskOptions) -> int:
    from kode import timings

    timings.mark("cli")
    try:
        prompt = read_prompt(options.prompt, sys.stdin)
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"could not read standard input: {exc}")
    if not prompt:
        return fail('no prompt: pass one as an argument (kode ask "…") or on standard input')
    try:
        prepared = prepare(options)
    except Refused as exc:
        return fail(str(exc), exc.code)
    timings.mark("config")
    from kode.host.opening import OpenRequest

    request = OpenRequest(
        cwd=prepared.cwd,
        api_key=prepared.api_key,
        interactive=False,
        owner="kode ask",
        resume=options.resume,
        continue_latest=options.continue_latest,
        save=options.save,
        remote=options.remote,
        first_prompt=prompt,
    )
    code = asyncio.run(_main(prepared.loaded, request, prompt, _renderer(options.output_format)))
    timings.report()
    fast_exit(code)
    return code


async def _main(loaded, request, prompt: str, renderer) -> int:  # type: ignore[no-untyped-def]
    from kode import timings
    from kode.host.opening import OpenError, open_session

    try:
        opened = await open_session(loaded, request)
    except OpenError as exc:
        return fail(str(exc), exit_codes.for_open_error(exc))
    for warning in opened.warnings:
        sys.stderr.write(f"kode: warning: {warning}\n")
    timings.mark("wiring")
    try:
        # a resumed session's history is not replayed; a new one's header is part of the output
        since = opened.session.log.last_seq if opened.resumed else 0
        return await _drive(opened.session, prompt, renderer, since)
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


async def _drive(session, prompt: str, renderer, since: int) -> int:  # type: ignore[no-untyped-def]
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
    events = client.events(since)
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
