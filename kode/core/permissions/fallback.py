"""A deliberately crude split of a command bashlex could not parse, for deny and ask rules.

When the real parse fails, allow rules never apply, but deny rules must still hold. So the
command is cut into fragments two ways, and the policy checks deny rules against every
word-suffix of every fragment (which also sees through wrappers, known or not):

- crudely, at every character that can start or end a command in any context (`;`, `&`, `|`,
  newlines, parentheses, braces, backticks, `$(`, `<(`), even inside quotes, with quotes and
  backslashes then deleted; this finds commands inside strings (`bash -c '...'`, `eval`);
- quote-aware, at unquoted separators only, with real quote removal; this keeps arguments like
  `';'` or `\\;` whole, so `rm \\; x` is still seen as `rm ; x`.

Then the value of every quoted word, unquoted the way bash would, is split again, since
quoting can build a command (`eval '$'"'"'\\x72m'"'"' x'` runs `$'\\x72m' x`). This
over-splits on purpose: a fragment that is really an argument can only cause an extra ask or
deny.
"""

from __future__ import annotations

import posixpath
import re

from kode.core.permissions._lexer import ScanError, Scanner
from kode.core.permissions._words import decode_ansi_c, unquote_word
from kode.core.permissions.commands import ARGS_SENTINEL, ASSIGNMENT

MAX_DEPTH = 8
_ARGUMENT = "_"
_SEPARATORS = re.compile(r"\$\(\(|\)\)|\$\(|<\(|>\(|[;&|\n(){}`]")
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'", re.DOTALL)
_BRACES = re.compile(r"\{([^{}\s]*,[^{}\s]*)\}")
_QUOTES = re.compile(r"\$(?=['\"])|['\"\\]")
_BREAKS = frozenset(" \t\n;&|()<>`{}")
_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "select", "case", "esac",
     "in", "function", "time", "coproc", "!", "[[", "]]", "{", "}"}
)  # fmt: skip


def fallback_fragments(command: str, depth: int = 0) -> list[str]:
    """Normalised fragments of `command`, each possibly a command (or the tail of one)."""
    text = command.replace("\\\n", "")
    fragments = _crude(text)
    pieces = _quote_aware(text)
    for words in pieces:
        fragments += _fragment([_unquote(w) for w in words])
    if depth < MAX_DEPTH:
        for word in (w for words in pieces for w in words):
            value = _unquote(word)
            if value != word:
                fragments += fallback_fragments(value, depth + 1)
    return list(dict.fromkeys(fragments))


_OPENERS = re.compile(r"\$\(|[<>]\(|`")


def crude_fragments(command: str) -> list[str]:
    """Only the crude split: fragments cut at every separator, even inside quotes."""
    return list(dict.fromkeys(_crude(command.replace("\\\n", ""))))


def _crude(text: str) -> list[str]:
    text = _ANSI_C.sub(lambda m: decode_ansi_c(m.group(1)), text)
    text = _OPENERS.sub(lambda m: f" {_ARGUMENT} {m.group()}", text)  # `rm $(x)` keeps an argument
    text = _BRACES.sub(lambda m: m.group(1).replace(",", " "), text)
    fragments: list[str] = []
    for piece in _SEPARATORS.split(text):
        fragments += _fragment(_QUOTES.sub("", piece).split())
    return fragments


def _fragment(words: list[str]) -> list[str]:
    words = [w for word in words for w in _expand(word)]
    while words and (words[0] in _KEYWORDS or ASSIGNMENT.match(words[0])):
        words.pop(0)
    if not words:
        return []
    fragment = " ".join(words)
    found = [fragment]
    if any("/" in word for word in words):
        found.append(" ".join(posixpath.basename(word) or word for word in words))
    if any(posixpath.basename(word) == "xargs" for word in words):
        found.append(f"{fragment} {ARGS_SENTINEL}")
    return found


def _expand(word: str) -> list[str]:
    match = _BRACES.fullmatch(word)
    return match.group(1).split(",") if match else [word]


def _unquote(word: str) -> str:
    try:
        return unquote_word(word)[0]
    except ScanError:
        return _QUOTES.sub("", word)


def _quote_aware(text: str) -> list[list[str]]:
    """Raw words of `text` grouped into pieces at unquoted separators; a quote left open takes
    the rest of the text."""
    scanner = Scanner(text)
    pieces: list[list[str]] = [[]]
    start = i = 0
    n = len(text)

    def close(end: int) -> None:
        if end > start:
            pieces[-1].append(text[start:end])

    while i < n:
        c = text[i]
        if c in _BREAKS or text.startswith("$(", i):
            close(i)
            if _OPENERS.match(text, i):
                pieces[-1].append(_ARGUMENT)  # a substitution stands for an argument
            if c not in " \t" and pieces[-1]:
                pieces.append([])
            i += 2 if c == "$" else 1
            start = i
        elif c == "\\":
            i += 2
        elif c in "'\"" or text.startswith(("$'", '$"'), i):
            i = _after_quote(scanner, text, i)
        else:
            i += 1
    close(min(i, n))
    return [piece for piece in pieces if piece]


def _after_quote(scanner: Scanner, text: str, i: int) -> int:
    """Index after the quoted string at `i`, or the end of the text if it is not closed."""
    try:
        if text[i] == "'":
            return scanner.single(i + 1)
        if text[i] == '"':
            return scanner.dquote(i + 1)
        return scanner.ansi_c(i + 2) if text[i + 1] == "'" else scanner.dquote(i + 2)
    except ScanError:
        return len(text)
