"""Unified diffs of text edits, for frontends (the `display` of write_file and edit_file)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

MAX_DIFF_CHARS = 200_000
NO_NEWLINE = "\\ No newline at end of file\n"


@dataclass(frozen=True, slots=True)
class DiffStats:
    added: int
    removed: int


def unified_diff(old: str | None, new: str, path: str, *, context: int = 3) -> str:
    """`git diff`-style unified diff of `old` -> `new` for workspace-relative `path`.

    `old=None` means the file is new (the diff starts from /dev/null). Line endings are compared
    as `\\n` (a CRLF file's diff shows its content, not its carriage returns). Very large diffs are
    cut with a marker.
    """
    old_lines = _lines(old or "")
    new_lines = _lines(new)
    from_file = "/dev/null" if old is None else f"a/{path}"
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, from_file, f"b/{path}", n=context):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_NEWLINE)
    text = "".join(out)
    if len(text) > MAX_DIFF_CHARS:
        cut = text.rfind("\n", 0, MAX_DIFF_CHARS) + 1
        text = text[:cut] + f"... [diff truncated: {len(text) - cut} more characters]\n"
    return text


def diff_stats(diff: str) -> DiffStats:
    added = removed = 0
    in_hunk = False
    for line in diff.split("\n"):
        if line.startswith("@@"):
            in_hunk = True
        elif not in_hunk:
            continue  # the ---/+++ header
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return DiffStats(added, removed)


def _lines(text: str) -> list[str]:
    r"""Lines with their `\n` (only `\n` ends a line, as in git; CRLF is compared as LF)."""
    parts = text.replace("\r\n", "\n").split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
