"""Completion for the plain REPL: slash commands, and `@path` for files of the workspace."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

SLASH_COMMANDS: dict[str, str] = {
    "/help": "show the commands and keys",
    "/quit": "leave kode (Ctrl+D at an empty prompt does too)",
    "/mode": "set the permission mode: default, accept-edits, plan, bypass",
    "/model": "use another model for the next turns",
    "/cost": "tokens and cost so far",
    "/clear": "start a fresh session",
}
PERMISSION_MODES = ("default", "accept-edits", "plan", "bypass")
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv", "target", "dist", "build"})


def workspace_files(root: Path, *, limit: int = 20_000) -> list[str]:
    """Relative paths (with `/`) of files under `root`, skipping dot-dirs and bulky dirs."""
    found: list[str] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        rel = os.path.relpath(directory, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for name in sorted(files):
            found.append(prefix + name)
            if len(found) >= limit:
                return found
    return found


class ReplCompleter(Completer):
    """`/…` at the start of the input completes commands (and `/mode`'s argument);
    a word starting with `@` completes workspace paths (rescanned at most every few seconds)."""

    def __init__(self, root: Path, *, rescan_after: float = 5.0) -> None:
        self.root = root
        self.rescan_after = rescan_after
        self._files: list[str] = []
        self._scanned = float("-inf")

    def files(self) -> list[str]:
        now = time.monotonic()
        if now - self._scanned > self.rescan_after:
            self._files = workspace_files(self.root)
            self._scanned = now
        return self._files

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        before = document.text_before_cursor
        if before.startswith("/") and "\n" not in before:
            if " " not in before:
                for name, meta in SLASH_COMMANDS.items():
                    if name.startswith(before):
                        yield Completion(name, start_position=-len(before), display_meta=meta)
                return
            command, _, argument = before.partition(" ")
            if command == "/mode" and " " not in argument:
                for mode in PERMISSION_MODES:
                    if mode.startswith(argument):
                        yield Completion(mode, start_position=-len(argument))
            return
        word = before.split()[-1] if before and not before[-1].isspace() else ""
        if not word.startswith("@"):
            return
        typed = word[1:]
        shown = 0
        for path in self.files():
            if path.startswith(typed) or (typed and "/" not in typed and f"/{typed}" in f"/{path}"):
                yield Completion("@" + path, start_position=-len(word))
                shown += 1
                if shown >= 200:
                    return
