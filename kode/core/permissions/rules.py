"""Permission rules: parsing rule text and matching one call against it.

A rule is a name and an optional pattern: `bash`, `bash(git status*)`, `edit(src/**)`,
`read(secrets/**)`, `write_file(*.md)`, `mcp__github__create_issue`.

- The name `bash`, `edit` or `read` (any case) stands for every tool of that kind; any other name
  is one tool's exact name.
- Without a pattern a rule matches every call of its tool or kind.
- For commands the pattern is a glob over one normalised simple command (see `shell.py`): `*`
  matches anything, spaces included; `\\*` is a literal star; a trailing `:*` means "this
  command, alone or with arguments" (`git diff:*` matches `git diff` and `git diff x`, not
  `git diff-tree`). A command that writes a file (`> out`) is only allowed by a pattern that
  itself contains `>`.
- For file tools the pattern is one gitignore-style line (`src/**`, `*.py`, `docs/*.md`) matched
  against the workspace-relative POSIX path, by pathspec.
- For other tools the pattern is a command-style glob over the tool's permission target.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pathspec

if TYPE_CHECKING:
    from kode.tools.base import ToolKind


KIND_NAMES: tuple[ToolKind, ...] = ("bash", "edit", "read")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


class RuleError(ValueError):
    """Rule text that cannot be used; the message says what is wrong and how to write it."""

    def __init__(self, rule: str, problem: str) -> None:
        super().__init__(f"invalid permission rule {rule!r}: {problem}")
        self.rule = rule
        self.problem = problem


class Rule:
    """One parsed permission rule. Equal rules have equal text."""

    __slots__ = ("_command", "_paths", "_suffix", "literal", "name", "pattern")

    def __init__(self, name: str, pattern: str | None = None) -> None:
        self.name = name.lower() if name.lower() in KIND_NAMES else name
        self.pattern = pattern
        self.literal: str | None = None
        """The pattern as plain text when it has no wildcard (it then also matches a whole
        compound command written exactly so)."""
        self._command: re.Pattern[str] | None = None
        self._suffix: re.Pattern[str] | None = None
        self._paths: pathspec.GitIgnoreSpec | None = None
        if pattern is None:
            return
        if self.name != "bash":  # edit, read, or a tool name whose kind we learn per call
            self._paths = _path_spec(str(self), pattern)
        if self.name not in ("edit", "read"):
            regex, self.literal = _command_regex(pattern)
            self._command = re.compile(rf"(?:{regex})\Z", re.DOTALL)
            self._suffix = re.compile(rf"(?:^|(?<=\s))(?:{regex})\Z", re.DOTALL)

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Parse rule text; raises RuleError with a message fit to show in a config error."""
        rule = text.strip()
        if not rule:
            raise RuleError(text, "the rule is empty; write e.g. `bash(git status*)` or `edit(src/**)`")
        name, paren, rest = rule.partition("(")
        name = name.strip()
        pattern: str | None = None
        if paren:
            if not rest.endswith(")"):
                if ")" in rest:
                    raise RuleError(text, "unexpected text after the closing ')'")
                raise RuleError(text, "missing closing ')'")
            pattern = rest[:-1].strip()
            if not pattern:
                raise RuleError(text, f"empty pattern; write `{name}` alone to match every call")
        if not _NAME.match(name):
            raise RuleError(
                text,
                f"{name!r} is not a tool name; use bash, edit, read or a tool's exact name"
                if name
                else "the rule has no name; use bash, edit, read or a tool's exact name",
            )
        if pattern is not None and any(ord(c) < 32 and c not in "\t\n" for c in pattern):
            raise RuleError(text, "the pattern contains control characters")
        return cls(name, pattern)

    def __str__(self) -> str:
        return self.name if self.pattern is None else f"{self.name}({self.pattern})"

    def __repr__(self) -> str:
        return f"Rule({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and (self.name, self.pattern) == (other.name, other.pattern)

    def __hash__(self) -> int:
        return hash((self.name, self.pattern))

    def applies_to(self, tool_name: str, kind: ToolKind) -> bool:
        """Whether this rule is about this tool at all (before looking at the target)."""
        if self.name in KIND_NAMES:
            return kind == self.name
        return tool_name == self.name

    def matches_command(self, text: str) -> bool:
        """Whether the glob matches the whole normalised command (or other tool's target)."""
        if self.pattern is None:
            return True
        return self._command is not None and self._command.match(text) is not None

    def matches_command_suffix(self, text: str) -> bool:
        """Whether the glob matches `text` from some word onward (for unparsed fragments)."""
        if self.pattern is None:
            return True
        return self._suffix is not None and self._suffix.search(text) is not None

    def allows_command(self, text: str, *, writes: bool, open_text: str | None = None) -> bool:
        """Allow-rule matching: writing commands need a `>` in the pattern, and commands that
        get arguments appended at run time must match with them too."""
        if self.pattern is None:
            return True
        if writes and ">" not in self.pattern:
            return False
        return self.matches_command(text) and (open_text is None or self.matches_command(open_text))

    def matches_path(self, path: str) -> bool:
        """Whether the gitignore-style pattern matches a workspace-relative POSIX path."""
        if self.pattern is None:
            return True
        return bool(path) and self._paths is not None and self._paths.match_file(path)


def _command_regex(pattern: str) -> tuple[str, str | None]:
    """(regex, literal text or None if the pattern has wildcards)."""
    prefix = pattern.endswith(":*") and not pattern.endswith("\\:*")
    body = pattern[:-2] if prefix else pattern
    parts: list[str] = []
    literal: list[str] = []
    wildcard = prefix
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            parts.append(re.escape(body[i + 1]))
            literal.append(body[i + 1])
            i += 2
            continue
        if char == "*":
            parts.append(".*")
            wildcard = True
        else:
            parts.append(re.escape(char))
            literal.append(char)
        i += 1
    regex = "".join(parts) + ("(?: .*)?" if prefix else "")
    return regex, None if wildcard else "".join(literal)


def _path_spec(rule: str, pattern: str) -> pathspec.GitIgnoreSpec:
    if pattern.startswith("!"):
        raise RuleError(rule, "negated patterns are not supported; write a deny or ask rule instead")
    try:
        spec = pathspec.GitIgnoreSpec.from_lines([pattern])
    except Exception as exc:  # pathspec raises its own error types for malformed lines
        raise RuleError(rule, f"not a valid gitignore-style path pattern ({exc})") from None
    if not any(p.include for p in spec.patterns):
        raise RuleError(rule, "not a valid gitignore-style path pattern (it matches nothing)")
    return spec
