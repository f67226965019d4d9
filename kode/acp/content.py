"""Pieces of ACP tool-call content built from what kode's events carry: titles, kinds, paths,
fenced text and file diffs.

kode's events carry edits as unified diffs (`display["diff"]`, an approval's `details`), while ACP
wants `{path, oldText, newText}`. Each hunk becomes one ACP diff holding the hunk's context and
changed lines: exact, needs no file reads (the file may have changed since, or be a replay), and
shows the same lines the TUI shows.
"""

from __future__ import annotations

import os
import re
from typing import Any

from acp.schema import ContentToolCallContent, FileEditToolCallContent, TextContentBlock, ToolCallLocation, ToolKind

MAX_TEXT = 20_000
"""Characters of tool output shown in a tool-call card; the model still sees all of it."""

_KINDS: dict[str, ToolKind] = {
    "read_file": "read",
    "list": "read",
    "write_file": "edit",
    "edit_file": "edit",
    "grep": "search",
    "glob": "search",
    "bash": "execute",
    "todo": "think",
}
_VERBS = {
    "read_file": "Read",
    "list": "List",
    "write_file": "Write",
    "edit_file": "Edit",
    "grep": "Search",
    "glob": "Find",
    "bash": "Run",
    "todo": "Update plan",
}
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def tool_kind(name: str, kode_kind: str = "") -> ToolKind:
    """ACP's icon category: by tool name, else by kode's permission kind (for MCP tools later)."""
    if name in _KINDS:
        return _KINDS[name]
    return {"read": "read", "edit": "edit", "bash": "execute"}.get(kode_kind, "other")


def tool_title(name: str, summary: str) -> str:
    verb = _VERBS.get(name, name)
    if not summary:
        return verb
    return f"{verb} `{summary}`" if name == "bash" else f"{verb} {summary}"


def absolute(cwd: str, path: str) -> str:
    """ACP wants absolute paths; kode's are workspace-relative."""
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path))


def locations(cwd: str, arguments: dict[str, Any]) -> list[ToolCallLocation] | None:
    path = arguments.get("path")
    if not isinstance(path, str) or not path:
        return None
    line = arguments.get("offset")
    return [ToolCallLocation(path=absolute(cwd, path), line=line if isinstance(line, int) and line > 0 else None)]


def fenced(text: str, lang: str = "") -> str:
    """Markdown code block that survives backticks in `text` (editors render tool text as markdown)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def clip(text: str, *, tail: bool = False) -> str:
    if len(text) <= MAX_TEXT:
        return text
    cut = len(text) - MAX_TEXT
    if tail:
        return f"[… {cut} earlier characters not shown]\n" + text[-MAX_TEXT:]
    return text[:MAX_TEXT] + f"\n[… {cut} more characters not shown]"


def text_content(text: str) -> ContentToolCallContent:
    return ContentToolCallContent(type="content", content=TextContentBlock(type="text", text=text))


def diff_contents(diff: str, cwd: str) -> list[FileEditToolCallContent]:
    """One ACP diff per hunk of a (single-file, git-style) unified diff.

    Hunk bodies are read by the line counts in their `@@` headers, so a removed line that itself
    starts with `--` is not mistaken for a file header.
    """
    lines = diff.split("\n")
    path = ""
    new_file = False
    out: list[FileEditToolCallContent] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("--- "):
            new_file = line[4:].strip() == "/dev/null"
            continue
        if line.startswith("+++ "):
            name = line[4:].strip()
            path = name[2:] if name.startswith("b/") else name
            continue
        match = _HUNK.match(line)
        if not match or not path:
            continue
        old_left = int(match.group(1)) if match.group(1) is not None else 1
        new_left = int(match.group(2)) if match.group(2) is not None else 1
        old: list[str] = []
        new: list[str] = []
        while (old_left > 0 or new_left > 0) and index < len(lines):
            body = lines[index]
            index += 1
            tag, text = body[:1], body[1:]
            if tag == "\\":
                continue  # "\ No newline at end of file"
            if tag in (" ", "") and old_left > 0 and new_left > 0:
                old.append(text)
                new.append(text)
                old_left, new_left = old_left - 1, new_left - 1
            elif tag == "-" and old_left > 0:
                old.append(text)
                old_left -= 1
            elif tag == "+" and new_left > 0:
                new.append(text)
                new_left -= 1
            else:
                break  # malformed or cut (a truncated diff): keep what was read
        old_text = None if new_file else _joined(old)
        out.append(FileEditToolCallContent(type="diff", path=absolute(cwd, path), old_text=old_text, new_text=_joined(new)))
    return out


def _joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)
