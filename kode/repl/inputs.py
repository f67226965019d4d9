"""Where the plain REPL reads lines from: prompt_toolkit on a terminal, plain stdin otherwise.

Both raise `EOFError` for Ctrl+D / end of input and `KeyboardInterrupt` for Ctrl+C at a prompt.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any, Protocol, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from kode.protocol.text import inert


class LineSource(Protocol):
    async def read(self, prompt: str, *, question: bool = False) -> str:
        """One input (possibly several lines). `question`: an answer, not a message (no history,
        no completion)."""
        ...


def history_file(cwd: Path, data_dir: Path) -> Path:
    """Per-project history: `<data_dir>/repl/<hash of the workspace path>`."""
    digest = hashlib.sha256(str(cwd.resolve()).encode()).hexdigest()[:16]
    return data_dir / "repl" / digest


def open_history(cwd: Path, data_dir: Path) -> History:
    """A FileHistory for this workspace, or an in-memory one when the file cannot be made."""
    path = history_file(cwd, data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


def message_bindings() -> KeyBindings:
    """Enter sends; Enter after a trailing backslash, or Alt+Enter (Esc then Enter), adds a line."""
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None and buffer.complete_state.current_completion is not None:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        if buffer.document.text_before_cursor.endswith("\\"):
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
            return
        buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class PromptToolkitSource:
    """prompt_toolkit prompts: history, completion, multi-line editing."""

    def __init__(
        self,
        *,
        history: History | None = None,
        completer: Completer | None = None,
        input: Any = None,  # noqa: A002 - prompt_toolkit's name
        output: Any = None,
    ) -> None:
        io: dict[str, Any] = {"input": input, "output": output}
        self.messages: PromptSession[str] = PromptSession(
            history=history or InMemoryHistory(),
            completer=completer,
            complete_while_typing=False,
            key_bindings=message_bindings(),
            prompt_continuation=lambda width, line_number, wrap_count: ". ".rjust(width),
            **io,
        )
        self.questions: PromptSession[str] = PromptSession(**io)

    async def read(self, prompt: str, *, question: bool = False) -> str:
        session = self.questions if question else self.messages
        return await session.prompt_async(prompt)


class StreamSource:
    """Lines from a plain stream (stdin piped from a file or another program).

    A trailing backslash continues the message on the next line. Each input is echoed after its
    prompt, so a transcript of the run reads like a terminal session. A read that is abandoned
    (the question was answered elsewhere) keeps its line for the next read.
    """

    def __init__(self, stream: TextIO, echo: TextIO | None = None) -> None:
        self.stream = stream
        self.echo = echo
        self._pending: asyncio.Future[str] | None = None

    async def _line(self) -> str:
        if self._pending is None:
            self._pending = asyncio.ensure_future(asyncio.to_thread(self.stream.readline))
        line = await asyncio.shield(self._pending)
        self._pending = None
        if not line:
            raise EOFError
        return line.rstrip("\n").rstrip("\r")

    async def read(self, prompt: str, *, question: bool = False) -> str:
        lines = [await self._line()]
        while not question and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1]
            try:
                lines.append(await self._line())
            except EOFError:
                break
        text = "\n".join(lines)
        if self.echo is not None:
            self.echo.write(prompt + inert(text).replace("\n", "\n. ") + "\n")
            self.echo.flush()
        return text
