"""Character-level shell scanning for the places where bashlex is wrong or does not look.

bashlex parses the structure of a command line well, but it rejects quoted here-document
delimiters (`cat <<'EOF'`) and arithmetic (`$((1 + 2))`), fails on `$(a || b)`, keeps only the
first line of a multi-line `$( )`, removes adjacent quotes wrongly (`'r''m'` stays `r''m`),
mangles ANSI-C strings (`$'\\x72m'`) and never looks inside `${...}` or here-document bodies.
So bashlex never sees any of that:

- `prepare` replaces every outermost command substitution, process substitution, arithmetic
  expansion and `${...}` that holds a substitution by a placeholder parameter, removes
  here-document bodies (the operator becomes a `<<<` here-string placeholder), and returns the
  command texts found in all of them, to be analysed on their own;
- `word_parts` (in `_words`) finds the placeholders and any substitutions in one word as
  written, honouring its quotes, so the caller can check every placeholder came back where bash
  expands it;
- `extract_substitutions` finds `$( )` and backtick commands in expanded text that is not
  parsed as commands (a here-document body, a `${...}` value, an arithmetic expression);
- `unquote_word` (in `_words`) performs quote removal on one raw word.

Anything it cannot follow raises `ScanError`; callers then treat the command as unparseable.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


def placeholder_mark(command: str) -> str:
    """The prefix of the placeholders put into `command`: derived from its hash, so the command
    cannot already contain it (short of a hash collision, which then only makes it unparseable)."""
    digest = hashlib.sha256(command.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"__kode{digest}_"


@functools.lru_cache(maxsize=64)
def _expansion_placeholder(mark: str) -> re.Pattern[str]:
    return re.compile(rf"\${re.escape(mark)}(sub|arith|param)_(\d+)__")


@functools.lru_cache(maxsize=64)
def heredoc_placeholder(mark: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(mark)}heredoc_(\d+)__")


_METACHARS = frozenset(" \t\n;&|()<>")
# What an arithmetic expression may contain, substitutions aside, for us to treat it as one;
# anything else (quotes, `;`, newlines, backslashes) is left for bashlex to reject.
_ARITHMETIC = re.compile(r"[\w\s+\-*/%<>=!&|^~?:,.()\[\]$#{}@]*\Z")


class ScanError(ValueError):
    """The text is not complete, balanced shell (or is too odd to follow safely)."""


@dataclass(slots=True)
class Prepared:
    text: str
    """The command with placeholders for substitutions and without here-document bodies."""
    mark: str
    """The prefix of every placeholder (see `placeholder_mark`)."""
    placeholders: set[str] = field(default_factory=set)
    """Every placeholder put in, like `sub_0`, `heredoc_1` (kind and number)."""
    inner: list[str] = field(default_factory=list)
    """Command texts from inside the replaced substitutions and here-document bodies."""
    originals: dict[str, str] = field(default_factory=dict)
    """What each inserted placeholder text stands for, to show the command as written."""

    def restore(self, value: str) -> str:
        """`value` with placeholders put back as written (here-document bodies stay out)."""
        if self.mark not in value:
            return value
        for inserted, original in self.originals.items():
            value = value.replace(inserted, original)
        return value


@dataclass(slots=True)
class _Heredoc:
    delimiter: str
    strip_tabs: bool
    quoted: bool
    record: bool


class Scanner:
    """A recursive scanner over bash's lexical contexts: command text, quotes, `$( )`, `${ }`,
    `$(( ))`, backticks and here-documents. It finds where each construct ends and, at the top
    level (`record`), replaces the ones bashlex must not see."""

    def __init__(self, text: str, *, record: bool = False, mark: str = "") -> None:
        self.t = text
        self.n = len(text)
        self.mark = mark
        self.record = record
        """True while scanning the top level of a command we are preparing for bashlex."""
        self.edits: list[tuple[int, int, str]] = []
        self.inner: list[str] = []
        self.pending: list[_Heredoc] = []
        self.counts: dict[str, int] = {}

    # -- contexts -------------------------------------------------------------------------------

    def command(self, i: int, closer: str | None) -> int:
        """Scan command text from `i` up to `closer` (`)` or a backtick); return the index after it."""
        t, n = self.t, self.n
        while i < n:
            c = t[i]
            if closer is not None and c == closer:
                return i + 1
            if c == "\\":
                i += 2
            elif c == "'":
                i = self.single(i + 1)
            elif c == '"':
                i = self.dquote(i + 1)
            elif c == "`":
                i = self.substitution(i, i + 1, "`")
            elif c == "$":
                i = self.dollar(i, in_dquote=False)
            elif t.startswith(("<(", ">("), i):
                i = self.substitution(i, i + 2, ")")
            elif c == "(":
                i = self.paren(i)
            elif c == ")":
                raise ScanError("unbalanced ')'")
            elif c == "#" and (i == 0 or t[i - 1] in _METACHARS):
                end = t.find("\n", i)
                i = n if end == -1 else end
            elif t.startswith("<<<", i):
                i += 3
            elif t.startswith("<<", i):
                i = self.heredoc_operator(i)
            elif c == "\n" and self.pending:
                i = self.heredoc_bodies(i)
            else:
                i += 1
        if closer is not None:
            raise ScanError(f"unterminated {'$(' if closer == ')' else '`'}")
        return i

    def paren(self, i: int) -> int:
        """`(` opens a subshell; `((` an arithmetic command if it closes with `))`, as in bash."""
        if self.t.startswith("((", i) and self.nested(self.arith, i + 2) is not None:
            raise ScanError("arithmetic command")  # bashlex reads it as two subshells
        return self.command(i + 1, ")")

    def single(self, i: int) -> int:
        end = self.t.find("'", i)
        if end == -1:
            raise ScanError("unterminated single quote")
        return end + 1

    def ansi_c(self, i: int) -> int:
        t, n = self.t, self.n
        while i < n:
            if t[i] == "\\":
                i += 2
            elif t[i] == "'":
                return i + 1
            else:
                i += 1
        raise ScanError("unterminated $'...'")

    def dquote(self, i: int) -> int:
        t, n = self.t, self.n
        while i < n:
            c = t[i]
            if c == "\\":
                i += 2
            elif c == '"':
                return i + 1
            elif c == "`":
                i = self.substitution(i, i + 1, "`")
            elif c == "$":
                i = self.dollar(i, in_dquote=True)
            else:
                i += 1
        raise ScanError("unterminated double quote")

    def dollar(self, i: int, *, in_dquote: bool) -> int:
        t = self.t
        if t.startswith("$((", i):
            end = self.nested(self.arith, i + 3)
            if end is not None:
                self.arithmetic(i, end)
                return end
            return self.substitution(i, i + 2, ")")
        if t.startswith("$(", i):
            return self.substitution(i, i + 2, ")")
        if t.startswith("${", i):
            end = self.nested(self.param, i + 2, in_dquote=in_dquote)
            self.parameter(i, end)
            return end
        if not in_dquote and t.startswith("$'", i):
            return self.ansi_c(i + 2)
        if not in_dquote and t.startswith('$"', i):
            return self.dquote(i + 2)
        return i + 1

    def param(self, i: int, *, in_dquote: bool) -> int:
        t, n = self.t, self.n
        depth = 0
        while i < n:
            c = t[i]
            if c == "\\":
                i += 2
            elif c == "'" and not in_dquote:
                i = self.single(i + 1)
            elif c == '"':
                i = self.dquote(i + 1)
            elif c == "`":
                i = self.substitution(i, i + 1, "`")
            elif c == "$":
                i = self.dollar(i, in_dquote=in_dquote)
            elif c == "{":
                depth += 1
                i += 1
            elif c == "}":
                if depth == 0:
                    return i + 1
                depth -= 1
                i += 1
            else:
                i += 1
        raise ScanError("unterminated ${")

    def arith(self, i: int) -> int | None:
        """Scan an arithmetic expression after `((`; return the index after `))`, or None when the
        parentheses do not close as `))` (bash then reads `$((` as `$( (`)."""
        t, n = self.t, self.n
        depth = 0
        while i < n:
            c = t[i]
            if c == "(":
                depth += 1
                i += 1
            elif c == ")":
                if depth == 0:
                    return i + 2 if t.startswith("))", i) else None
                depth -= 1
                i += 1
            elif c == "\\":
                i += 2
            elif c == "'":
                i = self.single(i + 1)
            elif c == '"':
                i = self.dquote(i + 1)
            elif c == "`":
                i = self.substitution(i, i + 1, "`")
            elif c == "$":
                i = self.dollar(i, in_dquote=False)
            else:
                i += 1
        raise ScanError("unterminated $((")

    def nested(self, scan: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Run `scan` with recording off: what it passes over is replaced as a whole, if at all."""
        record, self.record = self.record, False
        try:
            return scan(*args, **kwargs)
        finally:
            self.record = record

    # -- replacements ---------------------------------------------------------------------------

    def placeholder(self, kind: str, start: int, end: int, prefix: str = "$") -> None:
        number = self.counts.get(kind, 0)
        self.counts[kind] = number + 1
        self.edits.append((start, end, f"{prefix}{self.mark}{kind}_{number}__"))

    def substitution(self, start: int, body: int, closer: str) -> int:
        """`$( )`, backticks, `<( )` or `>( )` from `start`; the command text begins at `body`."""
        end = self.nested(self.command, body, closer)
        if self.record:
            text = self.t[body : end - 1]
            self.inner.append(_unescape_backticks(text, False) if closer == "`" else text)
            self.placeholder("sub", start, end)
        return end

    def arithmetic(self, start: int, end: int) -> None:
        if not self.record:
            return
        expression = self.t[start + 3 : end - 2]
        if not _ARITHMETIC.match(_without_substitutions(expression)):
            return  # left in place: bashlex rejects it and the caller falls back
        self.inner.extend(extract_substitutions(expression))
        self.placeholder("arith", start, end)

    def parameter(self, start: int, end: int) -> None:
        body = self.t[start + 2 : end - 1]
        if self.record and ("$(" in body or "`" in body or "$[" in body):
            self.inner.extend(extract_substitutions(body))
            self.placeholder("param", start, end)

    def heredoc_operator(self, i: int) -> int:
        t, n = self.t, self.n
        j = i + 2
        strip_tabs = t.startswith("-", j)
        if strip_tabs:
            j += 1
        while j < n and t[j] in " \t":
            j += 1
        start = j
        while j < n and t[j] not in _METACHARS:
            if t[j] == "\\":
                j += 2
            elif t[j] == "'":
                j = self.single(j + 1)
            elif t[j] == '"':
                j = self.nested(self.dquote, j + 1)
            else:
                j += 1
        raw = t[start:j]
        if not raw:
            raise ScanError("here-document without a delimiter")
        if "$" in raw or "`" in raw:
            raise ScanError("here-document delimiter with an expansion")
        quoted = any(q in raw for q in "'\"\\")
        from kode.core.permissions._words import (
            unquote_word,  # word-level half; imports this module
        )

        delimiter = unquote_word(raw)[0] if quoted else raw
        self.pending.append(_Heredoc(delimiter, strip_tabs, quoted, self.record))
        if self.record:
            self.placeholder("heredoc", i, j, prefix="<<<")
        return j

    def heredoc_bodies(self, newline: int) -> int:
        """Read the pending here-document bodies after `newline`; return the index after them."""
        t, n = self.t, self.n
        pos = newline + 1
        for doc in self.pending:
            body_start = pos
            while True:
                if pos >= n:
                    raise ScanError(f"here-document not terminated by {doc.delimiter!r}")
                eol = t.find("\n", pos)
                line_end = n if eol == -1 else eol
                line = t[pos:line_end]
                pos = min(line_end + 1, n)
                if (line.lstrip("\t") if doc.strip_tabs else line) == doc.delimiter:
                    break
                # bash joins `\`+newline in unquoted bodies, so a line it joins is not a
                # delimiter line; ending early here only turns body text into commands.
            if doc.record and not doc.quoted:
                self.inner.extend(extract_substitutions(t[body_start:pos]))
        if any(doc.record for doc in self.pending):
            self.edits.append((newline + 1, pos, ""))
        self.pending.clear()
        return pos


def prepare(command: str) -> Prepared:
    """Replace what bashlex must not see (see the module docstring) in `command`."""
    mark = placeholder_mark(command)
    if mark in command:
        raise ScanError("command contains kode's placeholder marker")
    scanner = Scanner(command, record=True, mark=mark)
    scanner.command(0, None)
    if scanner.pending:
        raise ScanError("here-document without a body")
    pieces: list[str] = []
    originals: dict[str, str] = {}
    last = 0
    for start, end, replacement in sorted(scanner.edits):
        if start < last:
            raise ScanError("overlapping replacements")
        pieces += [command[last:start], replacement]
        if replacement:
            originals[replacement] = command[start:end]
        last = end
    pieces.append(command[last:])
    placeholders = {f"{kind}_{i}" for kind, count in scanner.counts.items() for i in range(count)}
    return Prepared("".join(pieces), mark, placeholders, scanner.inner, originals)


def extract_substitutions(text: str) -> list[str]:
    """The outermost `$( )` and backtick commands of an expanded, non-command text.

    Quotes are deliberately not honoured here (they are literal in here-document bodies, and in
    `${x:-'...'}` bash's rules differ inside and outside double quotes), so this may find a
    substitution that does not run but never misses one that does.
    """
    scanner = Scanner(text)
    found: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "`":
            end = scanner.command(i + 1, "`")
            found.append(_unescape_backticks(text[i + 1 : end - 1], False))
            i = end
        elif text.startswith("$((", i) and (close := scanner.arith(i + 3)) is not None:
            found.extend(extract_substitutions(text[i + 3 : close - 2]))
            i = close
        elif text.startswith("$(", i):
            end = scanner.command(i + 2, ")")
            found.append(text[i + 2 : end - 1])
            i = end
        else:
            i += 1
    return found


def _without_substitutions(expression: str) -> str:
    scanner = Scanner(expression)
    pieces: list[str] = []
    i = last = 0
    while i < len(expression):
        if expression.startswith("$(", i) and not expression.startswith("$((", i):
            end = scanner.command(i + 2, ")")
        elif expression[i] == "`":
            end = scanner.command(i + 1, "`")
        else:
            i += 1
            continue
        pieces.append(expression[last:i])
        i = last = end
    pieces.append(expression[last:])
    return "".join(pieces)

def _unescape_backticks(body: str, in_dquote: bool) -> str:
    """Inside backticks a backslash only quotes `$`, backtick and backslash (and `"` when the
    backticks are inside double quotes)."""
    return re.sub(r'\\([$`\\"])' if in_dquote else r"\\([$`\\])", r"\1", body)


# -- quote removal ------------------------------------------------------------------------------
