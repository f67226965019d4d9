"""The system prompt: who kode is, how to work, and facts about this workspace."""

from __future__ import annotations

import platform
from datetime import date

BASE_PROMPT = """\
You are kode, a coding assistant working in the user's project from their terminal.
Work in small, verified steps: read before you edit, prefer `edit_file` over rewriting files,
run the project's tests or the code you changed when you can, and say plainly what you did.
Paths are relative to the workspace root; you cannot read or write outside it.
Some tool calls need the user's approval; if a call is denied, do not retry it unchanged: adjust
your approach or ask the user. Keep answers short; use Markdown for code."""


def build_system_prompt(
    *,
    cwd: str,
    tool_names: list[str],
    replace: str = "",
    append: str = "",
    today: date | None = None,
    instructions: str = "",
) -> str:
    parts = [replace.strip() or BASE_PROMPT]
    parts.append(
        "\n".join(
            [
                "Environment:",
                f"- workspace root: {cwd}",
                f"- platform: {platform.system()} {platform.release()}",
                f"- date: {(today or date.today()).isoformat()}",
                f"- tools: {', '.join(tool_names)}",
            ]
        )
    )
    if append.strip():
        parts.append(append.strip())
    if instructions.strip():
        parts.append(instructions.strip())
    return "\n\n".join(parts)
