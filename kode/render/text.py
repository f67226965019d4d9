"""Plain-text output for `kode ask`: the answer streams to stdout as it arrives.

stdout carries only the assistant's text, so `kode ask … > answer.md` captures just the answer.
Tool activity goes to stderr when a person is watching it (a TTY); errors and retries always do.
Model and tool text is made inert before it reaches a terminal (no escape sequences).
"""

from __future__ import annotations

from typing import TextIO

from kode.llm.errors import describe
from kode.protocol.events import (
    ErrorEvent,
    Event,
    MessageCompleted,
    Retrying,
    TextDelta,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    Warning,
)
from kode.protocol.text import inert


class TextRenderer:
    def __init__(self, out: TextIO, err: TextIO, *, show_tools: bool | None = None) -> None:
        self.out = out
        self.err = err
        self.show_tools = err.isatty() if show_tools is None else show_tools
        self._at_line_start = True
        self._streamed: dict[str, str] = {}
        """Text shown so far per message id; `message_completed` is authoritative over it."""

    def _write(self, text: str) -> None:
        if not text:
            return
        self.out.write(inert(text))
        self.out.flush()
        self._at_line_start = text.endswith("\n")

    def _note(self, line: str) -> None:
        if not self._at_line_start:
            self._write("\n")
        self.err.write(inert(line) + "\n")
        self.err.flush()

    def event(self, event: Event) -> None:
        if event.agent_id != "root":
            return
        match event:
            case TextDelta(text=text, message_id=message_id):
                self._streamed[message_id] = self._streamed.get(message_id, "") + text
                self._write(text)
            case MessageCompleted(text=text, message_id=message_id):
                # deltas a reader had not yet taken are folded into the completion: show the rest
                shown = self._streamed.pop(message_id, "")
                if text.startswith(shown):
                    self._write(text[len(shown) :])
                if not self._at_line_start:
                    self._write("\n")  # the next message (after a tool call) starts its own line
            case Retrying(error=error, delay=delay, attempt=attempt, max_attempts=maximum):
                brief = describe(error.model_copy(update={"hint": None}))  # the hint comes if it fails for good
                self._note(f"kode: {brief}; retrying in {delay:.1f}s ({attempt}/{maximum})")
            case ErrorEvent(error=error):
                self._note(f"kode: error: {describe(error)}")
            case Warning(message=message):
                self._note(f"kode: warning: {message}")
            case ToolCallRequested(name=name, summary=summary) if self.show_tools:
                self._note(f"● {name} {summary}".rstrip())
            case ToolCallFinished(status=status, output=output) if self.show_tools and status != "ok":
                self._note(f"  ↳ {status}: {output.splitlines()[0] if output else ''}")
            case _:
                pass

    def finish(self, finished: TurnFinished | None, *, session_id: str) -> None:
        if not self._at_line_start:
            self._write("\n")
