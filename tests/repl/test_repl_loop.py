"""The REPL loop end to end against a real Session with a scripted model (no terminal needed)."""

from __future__ import annotations

import asyncio
import io

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from kode.protocol import events as ev
from kode.protocol.ops import AnswerApproval
from kode.repl import PlainRepl, PromptToolkitSource, ReplCompleter, StreamSource
from kode.testing.scripted_model import Step


async def wait_for(out: io.StringIO, needle: str, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while needle not in out.getvalue():
            await asyncio.sleep(0.01)


async def test_prompt_toolkit_loop_with_an_approval_answered_y(wire) -> None:
    w = wire(
        Step("Running it.", tool_calls=[("bash", {"command": "echo hi > out.txt"})]),
        Step("Done."),
    )
    out = io.StringIO()
    with create_pipe_input() as pipe:
        source = PromptToolkitSource(input=pipe, output=DummyOutput(), completer=ReplCompleter(w.workspace))
        repl = PlainRepl(w.client, source, out, model="scripted/test", permission_mode="default")
        running = asyncio.create_task(repl.run())
        await wait_for(out, "/help for commands")
        pipe.send_text("make a file\r")
        await wait_for(out, "? approve bash")
        pipe.send_text("y\r")
        await wait_for(out, "[tokens")
        pipe.send_text("/cost\r")
        await wait_for(out, "session so far")
        pipe.send_text("\x04")  # Ctrl+D at an empty prompt quits
        assert await asyncio.wait_for(running, 5) == 0
    assert (w.workspace / "out.txt").read_text() == "hi\n"
    lines = out.getvalue().splitlines()
    assert lines[0] == "kode (plain) · model scripted/test · mode default · /help for commands, Ctrl+D to quit"
    assert lines[1:9] == [
        "Running it.",
        "● bash echo hi > out.txt",
        "? approve bash (bash): echo hi > out.txt",
        "    echo hi > out.txt",
        "  allowing for the session adds the rule: bash(echo hi > out.txt)",
        "  allowed once",
        "  ↳ ok (no output)",
        "Done.",
    ]
    assert lines[9].startswith("[tokens 20 in / 3 out · $0.0000")
    assert lines[10].startswith("session so far: 1 turn")
    assert w.session.log.closed  # quitting closed the client


async def test_stream_source_continuation_denial_with_reason_and_commands(wire) -> None:
    w = wire(
        Step(tool_calls=[("bash", {"command": "rm -rf build"})]),
        Step("Understood."),
    )
    stdin = io.StringIO("first line \\\nsecond line\nn: keep the build\n/mode plan\n/model other/model\n/nope\n")
    out = io.StringIO()
    repl = PlainRepl(w.client, StreamSource(stdin, echo=out), out)
    assert await asyncio.wait_for(repl.run(), 10) == 0
    text = out.getvalue()
    assert "> first line \n. second line\n" in text
    user = [e for e in w.session.log.durable_events() if isinstance(e, ev.UserMessage)]
    assert user[0].text == "first line \nsecond line"
    assert "  denied: keep the build" in text
    assert "↳ denied" in text
    assert "model scripted/test · mode plan" in text
    assert "model other/model · mode plan" in text
    assert "unknown command /nope" in text
    assert w.session.policy.mode.value == "plan"


class _Scripted:
    """Messages from a list; questions are never answered here (another client answers)."""

    def __init__(self, *messages: str) -> None:
        self.messages = list(messages)
        self.questions = 0

    async def read(self, prompt: str, *, question: bool = False) -> str:
        if question:
            self.questions += 1
            await asyncio.Future()  # waits until cancelled
        if not self.messages:
            raise EOFError
        return self.messages.pop(0)


async def test_approval_answered_by_another_client_skips_the_question(wire) -> None:
    w = wire(Step(tool_calls=[("bash", {"command": "echo x"})]), Step("ok"))
    out = io.StringIO()
    source = _Scripted("go")
    repl = PlainRepl(w.client, source, out)
    running = asyncio.create_task(repl.run())
    await wait_for(out, "? approve bash")
    await asyncio.sleep(0.02)
    request = next(e for e in w.session.log.durable_events() if isinstance(e, ev.ApprovalRequested))
    await w.session.submit(AnswerApproval(request_id=request.request_id, decision="allow_session"))
    assert await asyncio.wait_for(running, 5) == 0
    text = out.getvalue()
    assert "  (answered elsewhere)" in text
    assert "  allowed for this session" in text
    assert "ok\n[tokens" in text


async def test_ctrl_c_at_the_approval_question_denies_and_cancels(wire) -> None:
    w = wire(Step(tool_calls=[("bash", {"command": "sleep 30"})]), Step("never"))
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = PlainRepl(w.client, PromptToolkitSource(input=pipe, output=DummyOutput()), out)
        running = asyncio.create_task(repl.run())
        await wait_for(out, "/help for commands")
        pipe.send_text("wait a while\r")
        await wait_for(out, "? approve bash")
        pipe.send_text("\x03")
        await wait_for(out, "[tokens")
        pipe.send_text("\x03")  # Ctrl+C at an empty prompt quits
        assert await asyncio.wait_for(running, 5) == 0
    text = out.getvalue()
    assert "cancelling…" in text
    assert "turn cancelled" in text
