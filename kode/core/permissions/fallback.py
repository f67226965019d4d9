"""A deliberately crude split of a command bashlex could not parse, for deny and ask rules.

When the real parse fails, allow rules never apply, but deny rules must still hold. So the
command is cut at every character that can start or end a command in any context (`;`, `&`,
`|`, newlines, parentheses, braces, backticks, `$(`, `<(`) - even inside quotes - quotes and
backslashes are deleted, and leading keywords and assignments are dropped. This over-splits on
purpose: a fragment that is really a quoted argument can only cause an extra ask or deny. The
policy then checks deny rules against every word-suffix of every fragment, which also sees
through wrappers (`sudo`, `bash -c`, unknown ones) without knowing them.

Deleting quotes loses what quoting builds (`eval '$'"'"'\x72m'"'"' x'` runs `$'\x72m' x`), so
the value of every quoted word, unquoted the way bash would, is split the same way again.
"""

from __future__ import annotations

import posixpath
import re

from kode.core.permissions._lexer import Scanner, ScanError, decode_ansi_c, unquote_word
from kode.core.permissions.commands import ARGS_SENTINEL, ASSIGNMENT

_SEPARATORS = re.compile(r"\$\(\(|\)\)|\$\(|<\(|>\(|[;&|\n(){}`]")
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'", re.DOTALL)
_BRACES = re.compile(r"\{([^{}\s]*,[^{}\s]*)\}")
_QUOTES = re.compile(r"\$(?=['\"])|['\"\\]")
_KEYWORDS = frozenset(
    "if then else elif fi do done while until for select case esac in function time coproc "
    "! [[ ]] { }".split()
)


MAX_DEPTH = 8


def fallback_fragments(command: str, depth: int = 0) -> list[str]:
    """Normalised fragments of `command`, each possibly a command (or the tail of one)."""
    fragments = _split(command)
    if depth < MAX_DEPTH:
        for word in _quoted_words(command):
            try:
                value = unquote_word(word)[0]
            except ScanError:
                continue
            if value != word:
                fragments += fallback_fragments(value, depth + 1)
    return fragments


def _split(command: str) -> list[str]:
    text = command.replace("\\\n", "")
    text = _ANSI_C.sub(lambda m: decode_ansi_c(m.group(1)), text)
    text = _BRACES.sub(lambda m: m.group(1).replace(",", " "), text)
    fragments: list[str] = []
    for piece in _SEPARATORS.split(text):
        words = _QUOTES.sub("", piece).split()
        while words and (words[0] in _KEYWORDS or ASSIGNMENT.match(words[0])):
            words.pop(0)
        if not words:
            continue
        fragment = " ".join(words)
        fragments.append(fragment)
        if any("/" in word for word in words):
            fragments.append(" ".join(posixpath.basename(word) or word for word in words))
        if any(posixpath.basename(word) == "xargs" for word in words):
            fragments.append(f"{fragment} {ARGS_SENTINEL}")
    return fragments


_BREAKS = frozenset(" \t\n;&|()<>`{}")


def _quoted_words(text: str) -> list[str]:
    """Words of `text` that contain quoting, split at unquoted blanks and operators; a quote
    left open takes the rest of the text."""
    scanner = Scanner(text)
    words: list[str] = []
    start = i = 0
    quoted = False
    n = len(text)

    def close(end: int) -> None:
        if quoted and end > start:
            words.append(text[start:end])

    while i < n:
        c = text[i]
        if c in _BREAKS or text.startswith("$(", i):
            close(i)
            i += 2 if c == "$" else 1
            start, quoted = i, False
            continue
        if c == "\\":
            quoted = True
            i += 2
            continue
        if c in "'\"" or text.startswith(("$'", '$"'), i):
            quoted = True
            try:
                if c == "'":
                    i = scanner.single(i + 1)
                elif c == '"':
                    i = scanner.dquote(i + 1)
                elif text[i + 1] == "'":
                    i = scanner.ansi_c(i + 2)
                else:
                    i = scanner.dquote(i + 2)
            except ScanError:
                i = n
            continue
        i += 1
    close(n)
    return words
