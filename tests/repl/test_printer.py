"""The plain event printer, fed scripted events: streaming text, tools, approvals, hostile text."""

from __future__ import annotations

import io

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from kode.protocol import events as ev
from kode.protocol.common import ErrorInfo, ErrorKind, TurnStatus, Usage
from kode.repl import EventPrinter, parse_answer
from kode.repl.completion import ReplCompleter, workspace_files


def printed(*events: ev.EventBase) -> tuple[str, EventPrinter]:
    out = io.StringIO()
    printer = EventPrinter(out)
    for event in events:
        printer.event(event)  # type: ignore[arg-type]
    return out.getvalue(), printer


def finished(**kw) -> ev.TurnFinished:
    return ev.TurnFinished(turn_id="t1", status=kw.pop("status", TurnStatus.COMPLETED), duration=1.25, **kw)


def test_text_streams_and_turn_ends_with_usage_line() -> None:
    text, printer = printed(
        ev.TurnStarted(turn_id="t1", model="m"),
        ev.TextDelta(message_id="m1", text="Hel"),
        ev.TextDelta(message_id="m1", text="lo"),
        ev.MessageCompleted(message_id="m1", text="Hello"),
        finished(usage=Usage(input_tokens=1200, output_tokens=34, cost_usd=0.0123), model_calls=1),
    )
    assert text == "Hello\n[tokens 1,200 in / 34 out · $0.0123 · 1.2s · 1 model call]\n"
    assert printer.totals.input_tokens == 1200 and printer.turns == 1


def test_message_whose_deltas_were_missed_is_printed_whole() -> None:
    text, _ = printed(ev.MessageCompleted(message_id="m1", text="all of it"))
    assert text == "all of it\n"


def test_tool_calls_are_one_line_each_with_first_line_of_output() -> None:
    text, _ = printed(
        ev.TextDelta(message_id="m1", text="Let me look"),
        ev.ToolCallRequested(call_id="c1", name="bash", arguments={"command": "ls"}, summary="ls -la"),
        ev.ToolCallStarted(call_id="c1", name="bash"),
        ev.ToolCallOutput(call_id="c1", chunk="a\n"),
        ev.ToolCallFinished(call_id="c1", name="bash", status="ok", output="\nfile_a\nfile_b\nfile_c\n"),
        ev.ToolCallRequested(call_id="c2", name="read_file", arguments={}, summary="nope.py"),
        ev.ToolCallFinished(call_id="c2", name="read_file", status="error", output="no such file: nope.py"),
    )
    assert text.splitlines() == [
        "Let me look",
        "● bash ls -la",
        "  ↳ ok file_a (+2 more lines)",
        "● read_file nope.py",
        "  ↳ error no such file: nope.py",
    ]


def test_retries_errors_warnings_and_failed_turns_get_their_own_lines() -> None:
    error = ErrorInfo(kind=ErrorKind.RATE_LIMIT, message="slow down", status_code=429, hint="wait")
    text, _ = printed(
        ev.TextDelta(message_id="m1", text="partial"),
        ev.Retrying(attempt=1, max_attempts=3, delay=2.0, error=error, discarded_message_id="m1"),
        ev.Warning(code="w", message="careful"),
        ev.ErrorEvent(error=ErrorInfo(kind=ErrorKind.AUTH, message="bad key", hint="set OPENAI_API_KEY")),
        finished(status=TurnStatus.FAILED, error=ErrorInfo(kind=ErrorKind.AUTH, message="bad key")),
    )
    lines = text.splitlines()
    assert lines[:5] == [
        "partial",
        "[the reply above was cut off and is discarded]",
        "retrying in 2.0s (1/3): rate_limit: slow down (HTTP 429)",
        "warning: careful",
        "error: auth: bad key — set OPENAI_API_KEY",
    ]
    assert lines[5] == "turn failed: auth: bad key"
    assert lines[6].startswith("[tokens 0 in / 0 out")


def test_approval_prompt_shows_exactly_what_would_run_and_the_resolution() -> None:
    out = io.StringIO()
    printer = EventPrinter(out)
    request = ev.ApprovalRequested(
        request_id="a1",
        call_id="c1",
        tool_name="edit_file",
        kind="edit",
        summary="hello.py",
        details="--- a/hello.py\n+++ b/hello.py\n-    return 'hello'\n+    return 'hi'\n",
        suggested_rule="edit(hello.py)",
    )
    printer.approval_prompt(request)
    printer.event(ev.ApprovalResolved(request_id="a1", call_id="c1", decision="deny", reason="not now"))
    printer.event(ev.ApprovalResolved(request_id="a2", call_id="c2", decision="allow_once", by="policy"))
    assert out.getvalue().splitlines() == [
        "? approve edit_file (edit): hello.py",
        "    --- a/hello.py",
        "    +++ b/hello.py",
        "    -    return 'hello'",
        "    +    return 'hi'",
        "  allowing for the session adds the rule: edit(hello.py)",
        "  denied: not now",
        "  allowed once (by policy)",
    ]


HOSTILE = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]8;;http://127.0.0.1/evil\x1b\\click\x1b]8;;\x1b\\\r\x9b31m[bold red]x[/]"


def test_hostile_escape_sequences_are_made_inert_everywhere() -> None:
    out = io.StringIO()
    printer = EventPrinter(out)
    printer.event(ev.TextDelta(message_id="m1", text=HOSTILE))
    printer.event(ev.ToolCallRequested(call_id="c1", name="bash\x1b[31m", arguments={}, summary=HOSTILE))
    printer.event(ev.ToolCallFinished(call_id="c1", name="bash", status="ok", output=HOSTILE))
    printer.approval_prompt(
        ev.ApprovalRequested(
            request_id="a", call_id="c1", tool_name="bash", kind="bash", summary=HOSTILE, details=HOSTILE
        )
    )
    printer.event(ev.ErrorEvent(error=ErrorInfo(kind=ErrorKind.SERVER, message=HOSTILE)))
    printer.event(ev.Warning(code="x", message=HOSTILE))
    text = out.getvalue()
    assert not any(ch in text for ch in "\x1b\x07\r\x9b")
    assert "␛]52;c;ZXZpbA==␇" in text
    assert "[bold red]x[/]" in text  # markup is shown as typed, never interpreted


def test_cost_sums_every_turn() -> None:
    out = io.StringIO()
    printer = EventPrinter(out)
    printer.event(finished(usage=Usage(input_tokens=10, output_tokens=2, cost_usd=0.5)))
    printer.event(finished(usage=Usage(input_tokens=5, output_tokens=1, cost_usd=0.25)))
    printer.cost()
    assert out.getvalue().splitlines()[-1] == "session so far: 2 turns · tokens 15 in / 3 out · $0.7500"


def test_sub_agent_text_is_not_streamed_but_its_tools_are_shown_indented() -> None:
    text, _ = printed(
        ev.SubagentSpawned(child_id="sub1", agent_type="explore", goal="find tests"),
        ev.TextDelta(agent_id="sub1", message_id="m9", text="thinking aloud"),
        ev.ToolCallRequested(agent_id="sub1", call_id="c9", name="grep", arguments={}, summary="def test_"),
        ev.SubagentFinished(child_id="sub1", status=TurnStatus.COMPLETED, result="found 3"),
    )
    assert text.splitlines() == [
        "● sub-agent explore: find tests",
        "  ● grep def test_",
        "  ↳ sub-agent completed found 3",
    ]


def test_parse_answer() -> None:
    assert parse_answer("y") == ("allow_once", "")
    assert parse_answer(" YES ") == ("allow_once", "")
    assert parse_answer("a") == ("allow_session", "")
    assert parse_answer("n") == ("deny", "")
    assert parse_answer("n: use git mv instead") == ("deny", "use git mv instead")
    assert parse_answer("no  too risky") == ("deny", "too risky")
    assert parse_answer("") is None
    assert parse_answer("maybe") is None


def test_completion_of_commands_modes_and_paths(workspace) -> None:
    completer = ReplCompleter(workspace)

    def complete(text: str) -> list[str]:
        return [c.text for c in completer.get_completions(Document(text), CompleteEvent(completion_requested=True))]

    assert complete("/m") == ["/mode", "/model"]
    assert complete("/mode a") == ["accept-edits"]
    assert complete("look at @") == ["@hello.py", "@src/app.py"]
    assert complete("look at @app") == ["@src/app.py"]
    assert complete("look at @src/") == ["@src/app.py"]
    assert complete("plain text") == []
    assert workspace_files(workspace) == ["hello.py", "src/app.py"]  # no .git, no node_modules
