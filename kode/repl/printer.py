"""The event printer of `kode --plain`: session events as plain lines on a text stream.

No colours, no cursor movement, no redrawing: every line is written once and never taken back,
so the output reads the same on a dumb terminal, through a screen reader and in a log file.
All model and tool text is made inert (`kode.protocol.text.inert`) before it is written.
"""

from __future__ import annotations

from typing import TextIO

from kode.protocol.common import ROOT_AGENT, ErrorInfo, Usage
from kode.protocol.events import (
    ApprovalRequested,
    ApprovalResolved,
    ErrorEvent,
    Event,
    Lagged,
    MessageCompleted,
    Retrying,
    SessionStarted,
    SettingsChanged,
    SubagentFinished,
    SubagentSpawned,
    TextDelta,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    Warning,
)
from kode.protocol.text import inert, one_line

_DECISIONS = {"allow_once": "allowed once", "allow_session": "allowed for this session", "deny": "denied"}


def describe_error(error: ErrorInfo) -> str:
    """One line for a classified error: kind, message, and the hint when there is one."""
    text = f"{error.kind.value}: {one_line(error.message, 300)}"
    if error.status_code:
        text += f" (HTTP {error.status_code})"
    if error.hint:
        text += f" — {one_line(error.hint, 200)}"
    return text


def format_usage(usage: Usage) -> str:
    parts = [f"{usage.input_tokens:,} in", f"{usage.output_tokens:,} out"]
    if usage.cache_read_tokens:
        parts.append(f"{usage.cache_read_tokens:,} cached")
    return f"tokens {' / '.join(parts)} · ${usage.cost_usd:.4f}"


def first_line(text: str, limit: int = 100) -> str:
    """The first non-blank line of `text`, inert and cut, plus how many lines followed it."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip():
            rest = len(lines) - index - 1
            more = f" (+{rest} more line{'s' if rest != 1 else ''})" if rest else ""
            return one_line(line, limit) + more
    return ""


class EventPrinter:
    """Writes events to `out` as lines. `totals` sums the usage of every finished root turn."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.totals = Usage()
        self.turns = 0
        self.model = ""
        self.permission_mode = ""
        self._at_line_start = True
        self._streamed: dict[str, str] = {}
        """Text shown so far per message id; `message_completed` is authoritative over it."""
        self._tool_names: dict[str, str] = {}

    # -- writing -------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Untrusted text, streamed as is (made inert)."""
        if not text:
            return
        self.out.write(inert(text))
        self.out.flush()
        self._at_line_start = text.endswith("\n")

    def line(self, text: str) -> None:
        """A line of its own (a fresh line is started first if text was mid-line). Made inert."""
        self.end_line()
        self.out.write(inert(text) + "\n")
        self.out.flush()
        self._at_line_start = True

    def end_line(self) -> None:
        if not self._at_line_start:
            self.out.write("\n")
            self._at_line_start = True

    # -- events --------------------------------------------------------------------------------

    def event(self, event: Event) -> None:
        root = event.agent_id == ROOT_AGENT
        indent = "" if root else "  "
        match event:
            case SessionStarted(model=model, permission_mode=mode):
                self.model, self.permission_mode = model, mode
            case SettingsChanged(model=model, permission_mode=mode):
                self.model, self.permission_mode = model, mode
            case TextDelta(text=text, message_id=message_id) if root:
                self._streamed[message_id] = self._streamed.get(message_id, "") + text
                self.write(text)
            case MessageCompleted(text=text, message_id=message_id) if root:
                # the completion is authoritative: deltas not yet read are folded into it
                shown = self._streamed.pop(message_id, "")
                if text.startswith(shown):
                    self.write(text[len(shown) :])
                self.end_line()
            case ToolCallRequested(call_id=call_id, name=name, summary=summary):
                self._tool_names[call_id] = name
                self.line(f"{indent}● {name} {one_line(summary, 160)}".rstrip())
            case ToolCallFinished(call_id=call_id, status=status, output=output):
                self._tool_names.pop(call_id, None)
                detail = first_line(output)
                self.line(f"{indent}  ↳ {status}{' ' + detail if detail else ''}")
            case ApprovalResolved(decision=decision, reason=reason, by=by):
                text = _DECISIONS.get(decision, decision)
                if by != "user":
                    text += f" (by {by})"
                if reason:
                    text += f": {one_line(reason, 200)}"
                self.line(f"{indent}  {text}")
            case Retrying(
                error=error, delay=delay, attempt=attempt, max_attempts=maximum, discarded_message_id=dropped
            ):
                if dropped and dropped in self._streamed:
                    del self._streamed[dropped]
                    self.line("[the reply above was cut off and is discarded]")
                brief = describe_error(error.model_copy(update={"hint": None}))
                self.line(f"retrying in {delay:.1f}s ({attempt}/{maximum}): {brief}")
            case ErrorEvent(error=error):
                self.line(f"error: {describe_error(error)}")
            case Warning(message=message):
                self.line(f"warning: {one_line(message, 300)}")
            case SubagentSpawned(agent_type=agent_type, goal=goal):
                self.line(f"{indent}● sub-agent {one_line(agent_type, 40)}: {one_line(goal, 120)}")
            case SubagentFinished(status=status, result=result):
                detail = first_line(result)
                self.line(f"{indent}  ↳ sub-agent {status.value}{' ' + detail if detail else ''}")
            case Lagged(missed=missed):
                self.line(f"[{missed} live updates were skipped; the output above may be incomplete]")
            case TurnFinished() if root:
                self.turn_finished(event)
            case _:
                pass

    def approval_prompt(self, request: ApprovalRequested) -> None:
        """Exactly what would run or change, before the question is asked."""
        who = "" if request.agent_id == ROOT_AGENT else f" (sub-agent {one_line(request.agent_id, 40)})"
        self.line(
            f"? approve {one_line(request.tool_name, 40)} ({one_line(request.kind, 40)}){who}: {one_line(request.summary, 200)}"
        )
        if request.details:
            for line in request.details.rstrip("\n").splitlines():
                self.line(f"    {line}")
        if request.suggested_rule:
            self.line(f"  allowing for the session adds the rule: {one_line(request.suggested_rule, 200)}")

    def turn_finished(self, finished: TurnFinished) -> None:
        self.turns += 1
        self.totals = self.totals + finished.usage
        self.end_line()
        if finished.status.value != "completed":
            detail = f": {describe_error(finished.error)}" if finished.error else ""
            self.line(f"turn {finished.status.value}{detail}")
        calls = f" · {finished.model_calls} model call{'s' if finished.model_calls != 1 else ''}"
        self.line(f"[{format_usage(finished.usage)} · {finished.duration:.1f}s{calls}]")

    def cost(self) -> None:
        turns = f"{self.turns} turn{'s' if self.turns != 1 else ''}"
        self.line(f"session so far: {turns} · {format_usage(self.totals)}")
