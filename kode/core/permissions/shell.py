"""Split a shell command line into the simple commands bash would run.

`parse_shell_command` returns one `ShellCommand` per simple command: every part of a list or
pipeline (`;`, `&&`, `||`, `|`, `&`, newlines), the bodies of subshells, groups,
`if`/`for`/`while`/`until` and function definitions, and every command in a command
substitution (`$( )` and backticks, also inside double quotes, assignments, redirection targets
and `${...}`), process substitution, arithmetic expansion and here-document body. Wrappers keep
what they run as `inner` (see `commands.py`), with `bash -c`, `eval` and friends parsed again.

bashlex parses the structure; `_lexer.py` first takes out everything bashlex gets wrong
(substitutions, arithmetic, here-documents), and the contents are analysed on their own. Three
cross-checks keep that honest, and any doubt makes the answer None ("cannot be parsed safely"),
never a guess; the policy then falls back to `fallback.py`:

- each placeholder must come back from bashlex where bash expands it (a substitution inside a
  word, outside single quotes; a here-document as a `<<<` redirection);
- every character bashlex did not account for must be blank, a separator or a comment;
- quote removal is ours (`unquote_word`), since bashlex gets `'r''m'` and `$'...'` wrong.

`time` and `[[ ]]` make bashlex raise; on failure we retry once with those words escaped
(`\\time`, `\\[[`), which changes no token boundaries. `case`, `select`, `coproc`, `((...))`,
arrays and the like still fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import bashlex  # type: ignore[import-untyped]

from kode.core.permissions._lexer import (
    Prepared,
    ScanError,
    extract_substitutions,
    heredoc_placeholder,
    prepare,
)
from kode.core.permissions._words import unquote_word, word_parts
from kode.core.permissions.commands import ShellCommand, Word, build_command

MAX_DEPTH = 12
"""How deep substitutions and `bash -c "eval '...'"`-style strings are followed."""
MAX_LENGTH = 100_000

_GAP = re.compile(r"(?:[\s;&|]|\\\n|(?<![^\s;&|()])#[^\n]*)*")
_SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_READS = frozenset({"<", "<<", "<<-", "<<<", "<&"})
_KEYWORD_TIME = re.compile(
    r"(^|[;&|(){}!\n`]|\b(?:then|do|else|elif|if|while|until))(\s*)time(?=[\s;&|]|\Z)"
)
_KEYWORD_TEST = re.compile(r"(^|(?<=[\s;&|()!`]))(\[\[|\]\])(?=[\s;&|()]|\Z)")


def split_shell_command(command: str) -> list[str] | None:
    """Every simple command of `command`, normalised, wrapped commands after their wrapper;
    None if it cannot be parsed safely."""
    commands = parse_shell_command(command)
    if commands is None:
        return None
    return [c.text for top in commands for c in top.walk()]


def parse_shell_command(command: str) -> list[ShellCommand] | None:
    """The simple commands of `command` (wrappers hold theirs as `inner`); None if unparseable."""
    return _analyse(command, 0)


def _analyse(command: str, depth: int) -> list[ShellCommand] | None:
    if depth > MAX_DEPTH or len(command) > MAX_LENGTH:
        return None
    try:
        prepared = prepare(command)
    except ScanError:
        return None
    parsed = _parse(prepared.text)
    if parsed is None:
        return None
    nodes, text = parsed
    walker = _Walker(text, depth, prepared)
    try:
        commands = [c for node in nodes for c in walker.walk(node, _NO_REDIRECT)]
    except (_Unsupported, ScanError):
        return None
    if walker.placeholders != prepared.placeholders or not walker.covers_everything():
        return None
    for inner_text in prepared.inner:
        inner = _analyse(inner_text, depth + 1)
        if inner is None:
            return None
        commands.extend(inner)
    return commands


def _parse(text: str) -> tuple[list[Any], str] | None:
    """bashlex's trees for `text`, and the text they index (it may have `time`/`[[` escaped)."""
    if _is_blank(text):
        return [], text
    try:
        return list(bashlex.parse(text)), text
    except Exception:  # bashlex raises ParsingError, NotImplementedError and worse
        pass
    escaped = _KEYWORD_TEST.sub(r"\1\\\2", _KEYWORD_TIME.sub(r"\1\2\\time", text))
    if escaped == text:
        return None
    try:
        return list(bashlex.parse(escaped)), escaped
    except Exception:
        return None


def _is_blank(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


class _Unsupported(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Redirect:
    """Redirections of an enclosing compound command, inherited by the commands inside."""

    texts: tuple[str, ...] = ()
    writes: bool = False


_NO_REDIRECT = _Redirect()


@dataclass(slots=True)
class _Walker:
    text: str
    depth: int
    prepared: Prepared
    placeholders: set[str] = field(default_factory=set)
    covered: list[tuple[int, int]] = field(default_factory=list)

    def walk(self, node: Any, outer: _Redirect) -> list[ShellCommand]:
        kind = node.kind
        if kind == "command":
            return self.simple(node, outer)
        if kind in ("list", "pipeline", "if", "for", "while", "until", "function"):
            return [c for part in node.parts for c in self.walk(part, outer)]
        if kind == "compound":
            texts: list[str] = []
            writes = outer.writes
            found: list[ShellCommand] = []
            for redirect in getattr(node, "redirects", None) or ():
                text, redirect_writes, subs = self.redirect(redirect)
                texts += [text] if text else []
                writes = writes or redirect_writes
                found += subs
            inherited = _Redirect(tuple(texts) + outer.texts, writes)
            return [c for part in node.list for c in self.walk(part, inherited)] + found
        if kind in ("word", "assignment"):  # `for` lists, function names
            self.cover(node)
            return self.substitutions(node)
        if kind in ("operator", "reservedword", "pipe"):
            self.cover(node)
            return []
        raise _Unsupported(kind)

    def simple(self, node: Any, outer: _Redirect) -> list[ShellCommand]:
        assignments: list[Word] = []
        words: list[Word] = []
        redirects: list[str] = []
        writes = outer.writes
        found: list[ShellCommand] = []
        for part in node.parts:
            if part.kind in ("word", "assignment"):
                (words if words or part.kind == "word" else assignments).append(self.word(part))
                found += self.substitutions(part)
            elif part.kind == "redirect":
                text, redirect_writes, subs = self.redirect(part)
                redirects += [text] if text else []
                writes = writes or redirect_writes
                found += subs
            else:
                raise _Unsupported(part.kind)
        command = build_command(
            assignments, words, redirects + list(outer.texts), writes, _analyse, self.depth
        )
        if command is None:
            raise _Unsupported("nested command string")
        return [command, *found]

    def word(self, node: Any) -> Word:
        self.cover(node)
        value, dynamic = unquote_word(self.raw(node))
        return Word(self.prepared.restore(value), dynamic)

    def raw(self, node: Any) -> str:
        start, end = node.pos
        return self.text[start:end]

    def redirect(self, node: Any) -> tuple[str | None, bool, list[ShellCommand]]:
        """(text for the command line if it writes a file, whether it writes, substitutions)."""
        self.cover(node)
        found: list[ShellCommand] = []
        heredoc = getattr(node, "heredoc", None)
        if heredoc is not None:  # bashlex read this body itself; look inside it conservatively
            found += self.nested(extract_substitutions(heredoc.value))
        target = node.output
        if not hasattr(target, "kind"):
            return None, False, found  # an fd duplication or close: `2>&1`, `>&-`
        match = heredoc_placeholder(self.prepared.mark).fullmatch(self.raw(target))
        if node.type == "<<<" and match:
            self.placeholders.add(f"heredoc_{match.group(1)}")
            self.cover(target)
            return None, False, found
        found += self.substitutions(target)
        word = self.word(target)
        if node.type in _READS:
            return None, False, found
        if node.type == ">&" and word.value.isdigit() and not word.dynamic:
            return None, False, found
        if word.value in _SINKS and not word.dynamic:
            return None, False, found
        fd = node.input if isinstance(getattr(node, "input", None), int) else ""
        return f"{fd}{node.type} {word.value}", True, found

    def substitutions(self, node: Any) -> list[ShellCommand]:
        """Commands a word runs when expanded; bashlex's own subtrees are not trusted."""
        raw = self.raw(node)
        if not any(c in raw for c in "$`<>"):
            return []
        parts = word_parts(raw, self.prepared.mark)
        self.placeholders.update(parts.placeholders)
        return self.nested(parts.substitutions)

    def nested(self, texts: list[str]) -> list[ShellCommand]:
        found: list[ShellCommand] = []
        for text in texts:
            commands = _analyse(text, self.depth + 1)
            if commands is None:
                raise _Unsupported("substitution")
            found += commands
        return found

    def cover(self, node: Any) -> None:
        self.covered.append(tuple(node.pos))

    def covers_everything(self) -> bool:
        """Whether every character outside the nodes we saw is blank, a separator or a comment.

        bashlex has silently dropped parts of commands before; this makes sure it did not here.
        """
        gaps: list[str] = []
        last = 0
        for start, end in sorted(self.covered):
            if start > last:
                gaps.append(self.text[last:start])
            last = max(last, end)
        gaps.append(self.text[last:])
        return all(_GAP.fullmatch(gap) for gap in gaps)
