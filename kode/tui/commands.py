"""Slash commands: one table that the prompt's completion, the command palette and help read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SlashCommand:
    name: str
    help: str
    action: str
    """The app action it runs (`action_<name>`); an argument, if typed, is passed as a string."""
    argument: str = ""
    """What it takes after its name, for help (e.g. "[MODE]")."""


SLASH_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("help", "Show every key binding and command", "help"),
    SlashCommand("new", "Start a new session (this one is kept)", "new_session"),
    SlashCommand("clear", "Clear the conversation and start afresh", "clear_session"),
    SlashCommand("resume", "Pick an earlier session to continue", "resume"),
    SlashCommand("model", "Choose the model (or /model NAME)", "pick_model", "[NAME]"),
    SlashCommand("mode", "Permission mode: default, accept-edits, plan (or /mode NAME)", "pick_mode", "[MODE]"),
    SlashCommand("theme", "Choose a theme, previewed live (or /theme NAME)", "pick_theme", "[NAME]"),
    SlashCommand("cost", "Tokens and cost so far, per agent", "cost"),
    SlashCommand("agents", "Sub-agent types: built-in, yours and the project's", "agents"),
    SlashCommand("init", "Have kode write a starter AGENTS.md for this project", "init"),
    SlashCommand("memory", "View, edit, delete or add long-term memories (a # prompt adds one too)", "memory"),
    SlashCommand("compact", "Summarise the conversation to free context (optional focus)", "compact", "[FOCUS]"),
    SlashCommand("best-of", "Run N attempts at a task in worktrees, check and rank them", "best_of", "N TASK"),
    SlashCommand("apply", "Apply a sub-agent's changes (e.g. a best-of winner)", "apply_changes", "ID"),
    SlashCommand("export", "Write the conversation to a Markdown file", "export", "[PATH]"),
    SlashCommand("quit", "Quit kode", "quit"),
)

BY_NAME = {command.name: command for command in SLASH_COMMANDS}


def parse_slash(text: str) -> tuple[SlashCommand, str] | None:
    """The command a prompt like "/mode plan" runs, with its argument; None if it is not one."""
    stripped = text.strip()
    if not stripped.startswith("/") or "\n" in stripped:
        return None
    name, _, argument = stripped[1:].partition(" ")
    command = BY_NAME.get(name.lower())
    return (command, argument.strip()) if command else None


def complete_slash(prefix: str) -> list[SlashCommand]:
    """Commands whose name starts with `prefix` (without the slash), then those containing it."""
    prefix = prefix.lower()
    starts = [c for c in SLASH_COMMANDS if c.name.startswith(prefix)]
    contains = [c for c in SLASH_COMMANDS if prefix in c.name and c not in starts]
    return starts + contains


INIT_PROMPT = """Write a starter AGENTS.md at the root of this workspace, for coding agents (and people) working here.
First look around: the README, the build and package files, the test setup, the layout of the source tree, and any
existing AGENTS.md, KODE.md or CLAUDE.md (improve those rather than starting over). Then write, concisely:
- what the project is, in two lines;
- how to set it up, build, run, test and lint it (exact commands);
- the layout: the main directories and what lives where;
- the conventions you can see (style, naming, error handling, tests) and anything surprising.
Keep it under 80 lines, facts only, no filler."""
