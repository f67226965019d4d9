"""The plain REPL: read a message, submit it, print the turn's events, answer approvals, repeat.

It talks to the session only through a `SessionClient`, like the TUI. One background task reads
`client.events()` into a queue, so an approval answered by another client is noticed even while
this one is still asking.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import TextIO

from kode.client.base import SessionClient
from kode.protocol.common import ROOT_AGENT, ApprovalDecision
from kode.protocol.events import (
    ApprovalRequested,
    ApprovalResolved,
    ErrorEvent,
    Event,
    SettingsChanged,
    TurnFinished,
    TurnStarted,
    UserMessage,
)
from kode.protocol.ops import AnswerApproval, Cancel, SetModel, SetPermissionMode, SubmitMessage
from kode.protocol.text import one_line
from kode.repl.completion import PERMISSION_MODES, SLASH_COMMANDS
from kode.repl.inputs import LineSource
from kode.repl.printer import EventPrinter

PROMPT = "> "
QUESTION = "Allow once [y] / allow for session [a] / deny [n] (reason)? "
HELP_KEYS = """\
Keys: Enter sends. End a line with \\ (or press Alt+Enter, i.e. Esc then Enter) to add another line.
Tab completes /commands and @paths. Ctrl+C during a turn cancels it; Ctrl+C or Ctrl+D at an empty
prompt quits. Approvals: y allows once, a allows for the session, n denies (text after n is told
to the model as the reason)."""

ClientFactory = Callable[[], Awaitable[SessionClient]]


def parse_answer(text: str) -> tuple[ApprovalDecision, str] | None:
    """`y` / `a` / `n [reason]` (and their long forms) as a decision and reason; None if unclear."""
    word, _, rest = text.strip().partition(" ")
    word = word.lower().rstrip(":,.")
    reason = rest.strip().lstrip(":,-").strip()
    if word in ("y", "yes", "once"):
        return "allow_once", ""
    if word in ("a", "always", "s", "session"):
        return "allow_session", ""
    if word in ("n", "no", "deny"):
        return "deny", reason
    return None


class _Closed(Exception):
    """The session's event stream ended."""


class PlainRepl:
    def __init__(
        self,
        client: SessionClient,
        source: LineSource,
        out: TextIO,
        *,
        new_client: ClientFactory | None = None,
        model: str = "",
        permission_mode: str = "",
    ) -> None:
        self.client = client
        self.source = source
        self.out = out
        self.new_client = new_client
        self.printer = EventPrinter(out)
        self.printer.model, self.printer.permission_mode = model, permission_mode
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._resolved: dict[str, asyncio.Event] = {}
        self._pump_task: asyncio.Task[None] | None = None
        self._closed = False

    # -- the event pump ------------------------------------------------------------------------

    def _start_pump(self) -> None:
        self._queue = asyncio.Queue()
        self._resolved = {}
        self._closed = False
        self._pump_task = asyncio.get_running_loop().create_task(self._pump(self.client), name="kode-plain-events")

    async def _pump(self, client: SessionClient) -> None:
        try:
            async for event in client.events(0):
                if isinstance(event, ApprovalResolved):
                    self._resolved_flag(event.request_id).set()
                self._queue.put_nowait(event)
        finally:
            self._queue.put_nowait(None)

    async def _stop_pump(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump_task
            self._pump_task = None

    def _resolved_flag(self, request_id: str) -> asyncio.Event:
        return self._resolved.setdefault(request_id, asyncio.Event())

    async def _next(self) -> Event:
        event = await self._queue.get()
        if event is None:
            self._closed = True
            raise _Closed
        return event

    async def _drain_idle(self, settle: int = 3) -> None:
        """Print what arrived while no turn was running (history replayed on resume, settings)."""
        for _ in range(settle):
            await asyncio.sleep(0)
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is None:
                self._closed = True
                return
            if isinstance(event, UserMessage) and event.agent_id == ROOT_AGENT:
                self.printer.line(f"{PROMPT}{one_line(event.text, 400)}")
            elif not isinstance(event, ApprovalRequested):
                self.printer.event(event)

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> int:
        self._start_pump()
        try:
            await self._drain_idle()
            self.banner()
            while not self._closed:
                try:
                    text = await self.source.read(PROMPT)
                except (EOFError, KeyboardInterrupt):
                    break
                await self._drain_idle(settle=0)
                if self._closed:
                    break
                text = text.strip()
                if not text:
                    continue
                if text.startswith("/"):
                    if not await self.command(text):
                        break
                    continue
                await self.turn(text)
            if self._closed:
                self.printer.line("the session has ended")
                return 1
            return 0
        finally:
            await self._stop_pump()
            await self.client.close()

    def banner(self) -> None:
        parts = ["kode (plain)"]
        if self.printer.model:
            parts.append(f"model {self.printer.model}")
        if self.printer.permission_mode:
            parts.append(f"mode {self.printer.permission_mode}")
        parts.append("/help for commands, Ctrl+D to quit")
        self.printer.line(" · ".join(parts))

    async def command(self, text: str) -> bool:
        """Run a slash command; False means quit."""
        name, _, argument = text.partition(" ")
        argument = argument.strip()
        match name:
            case "/quit" | "/exit":
                return False
            case "/help":
                for command, meta in SLASH_COMMANDS.items():
                    self.printer.line(f"{command:<8} {meta}")
                for line in HELP_KEYS.splitlines():
                    self.printer.line(line)
            case "/cost":
                self.printer.cost()
            case "/mode":
                if argument not in PERMISSION_MODES:
                    current = f" (now {self.printer.permission_mode})" if self.printer.permission_mode else ""
                    self.printer.line(f"usage: /mode {'|'.join(PERMISSION_MODES)}{current}")
                else:
                    await self._change(SetPermissionMode(mode=argument))  # type: ignore[arg-type]
            case "/model":
                if not argument:
                    current = f" (now {self.printer.model})" if self.printer.model else ""
                    self.printer.line(f"usage: /model MODEL{current}")
                else:
                    await self._change(SetModel(model=argument))
            case "/clear":
                await self.clear()
            case _:
                self.printer.line(f"unknown command {one_line(name, 40)}; /help lists them")
        return True

    async def _change(self, op: SetModel | SetPermissionMode, timeout: float = 2.0) -> None:
        await self.client.submit(op)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await self._next()
                    self.printer.event(event)
                    if isinstance(event, SettingsChanged):
                        self.printer.line(f"model {event.model} · mode {event.permission_mode}")
                        return
                    if isinstance(event, ErrorEvent):
                        return
        except TimeoutError:
            self.printer.line("(no confirmation from the session yet)")
        except _Closed:
            pass

    async def clear(self) -> None:
        if self.new_client is None:
            self.printer.line("/clear is not available here")
            return
        try:
            fresh = await self.new_client()
        except Exception as exc:  # noqa: BLE001 - reported, and the current session goes on
            self.printer.line(f"could not start a fresh session: {one_line(str(exc), 300)}")
            return
        await self._stop_pump()
        await self.client.close()
        model, mode = self.printer.model, self.printer.permission_mode
        self.client = fresh
        self.printer = EventPrinter(self.out)
        self.printer.model, self.printer.permission_mode = model, mode
        self._start_pump()
        await self._drain_idle()
        self.printer.line("started a fresh session")

    # -- a turn --------------------------------------------------------------------------------

    async def turn(self, text: str) -> TurnFinished | None:
        """Submit a message and print its events until the root turn finishes."""
        await self.client.submit(SubmitMessage(text=text))
        started = False
        with self._cancel_on_sigint():
            try:
                while True:
                    event = await self._next()
                    if isinstance(event, ApprovalRequested):
                        await self.approve(event)
                        continue
                    self.printer.event(event)
                    if isinstance(event, TurnStarted) and event.agent_id == ROOT_AGENT:
                        started = True
                    elif isinstance(event, ErrorEvent) and not started:
                        return None  # refused before it began (e.g. the session is busy)
                    elif isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
                        return event
            except _Closed:
                return None

    @contextlib.contextmanager
    def _cancel_on_sigint(self) -> Iterator[None]:
        """While a turn runs the terminal is not in raw mode, so Ctrl+C arrives as SIGINT."""
        loop = asyncio.get_running_loop()

        def cancel() -> None:
            self.printer.line("cancelling…")
            loop.create_task(self.client.submit(Cancel()))

        try:
            loop.add_signal_handler(signal.SIGINT, cancel)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            yield
            return
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    async def approve(self, request: ApprovalRequested) -> None:
        self.printer.approval_prompt(request)
        resolved = self._resolved_flag(request.request_id)
        while not resolved.is_set():
            asking = asyncio.ensure_future(self._question())
            waiting = asyncio.ensure_future(resolved.wait())
            try:
                await asyncio.wait({asking, waiting}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
            if not asking.done():
                asking.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asking
                self.printer.line("  (answered elsewhere)")
                return
            outcome, answer = asking.result()
            if outcome == "interrupt":
                await self._answer(request, "deny", "cancelled by the user")
                self.printer.line("cancelling…")
                await self.client.submit(Cancel())
                return
            if outcome == "eof":
                await self._answer(request, "deny", "")
                return
            parsed = parse_answer(answer)
            if parsed is None:
                self.printer.line("please answer y, a or n (text after n is the reason)")
                continue
            if not resolved.is_set():
                await self._answer(request, *parsed)
            return

    async def _question(self) -> tuple[str, str]:
        """The answer, or how the question was left: KeyboardInterrupt and EOFError must not
        escape a task (asyncio would stop the loop on a KeyboardInterrupt)."""
        try:
            return "answer", await self.source.read(QUESTION, question=True)
        except KeyboardInterrupt:
            return "interrupt", ""
        except EOFError:
            return "eof", ""

    async def _answer(self, request: ApprovalRequested, decision: ApprovalDecision, reason: str) -> None:
        await self.client.submit(AnswerApproval(request_id=request.request_id, decision=decision, reason=reason))
