"""Unified diffs as coloured, inert Textual content."""

from __future__ import annotations

from textual.content import Content

from kode.protocol.text import inert

MAX_DIFF_LINES = 400

_STYLES = (
    ("+++", "bold"),
    ("---", "bold"),
    ("@@", "$text-accent"),
    ("+", "$text-success on $success-muted"),
    ("-", "$text-error on $error-muted"),
    ("\\", "$text-muted"),
)


def _style(line: str) -> str:
    for prefix, style in _STYLES:
        if line.startswith(prefix):
            return style
    return ""


def diff_content(diff: str, *, max_lines: int = MAX_DIFF_LINES) -> Content:
    """`diff` with added lines green, removed lines red, hunk headers accented."""
    lines = inert(diff).rstrip("\n").split("\n")
    extra = len(lines) - max_lines
    if extra > 0:
        lines = lines[:max_lines]
    parts: list[Content] = []
    for line in lines:
        style = _style(line)
        parts.append(Content.styled(line, style) if style else Content(line))
    if extra > 0:
        parts.append(Content.styled(f"… {extra} more lines", "$text-muted italic"))
    return Content("\n").join(parts)


def diff_counts(diff: str) -> tuple[int, int]:
    """(added, removed) lines of a unified diff, headers excluded."""
    added = removed = 0
    in_hunk = False
    for line in diff.split("\n"):
        if line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1
    return added, removed
