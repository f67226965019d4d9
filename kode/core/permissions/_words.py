"""Quote removal and expansion-finding within one shell word (the word-level half of `_lexer`).

`word_parts` finds the placeholders and substitutions a word expands, honouring its quotes;
`unquote_word` performs bash's quote removal, ANSI-C strings (`$'\\x72m'`) included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kode.core.permissions._lexer import (
    ScanError,
    Scanner,
    _expansion_placeholder,
    _unescape_backticks,
    extract_substitutions,
)


@dataclass(slots=True)
class WordParts:
    """What a word runs when it is expanded."""

    placeholders: list[str] = field(default_factory=list)
    """Placeholders (`sub_0`, ...) the word expands."""
    substitutions: list[str] = field(default_factory=list)
    """Command texts of `$( )`, backticks and process substitutions that `prepare` left in
    place (it should leave none; this is the second line of defence)."""


def word_parts(raw: str, mark: str) -> WordParts:
    """Find the placeholders (with prefix `mark`) and substitutions one word expands, honouring
    its quotes."""
    placeholder = _expansion_placeholder(mark)
    scanner = Scanner(raw)
    parts = WordParts()
    i, n = 0, len(raw)
    in_dquote = False
    while i < n:
        c = raw[i]
        if c == "\\":
            i += 2
        elif c == '"':
            in_dquote = not in_dquote
            i += 1
        elif c == "'" and not in_dquote:
            i = scanner.single(i + 1)
        elif raw.startswith("$'", i) and not in_dquote:
            i = scanner.ansi_c(i + 2)
        elif (match := placeholder.match(raw, i)) is not None:
            parts.placeholders.append(f"{match.group(1)}_{match.group(2)}")
            i = match.end()
        elif c == "`":
            end = scanner.command(i + 1, "`")
            parts.substitutions.append(_unescape_backticks(raw[i + 1 : end - 1], in_dquote))
            i = end
        elif raw.startswith("$((", i) and (close := scanner.arith(i + 3)) is not None:
            parts.substitutions.extend(extract_substitutions(raw[i + 3 : close - 2]))
            i = close
        elif raw.startswith("$(", i) or (raw.startswith(("<(", ">("), i) and not in_dquote):
            end = scanner.command(i + 2, ")")
            parts.substitutions.append(raw[i + 2 : end - 1])
            i = end
        elif raw.startswith("${", i):
            end = scanner.param(i + 2, in_dquote=in_dquote)
            parts.substitutions.extend(extract_substitutions(raw[i + 2 : end - 1]))
            i = end
        else:
            i += 1
    if in_dquote:
        raise ScanError("unterminated double quote")
    return parts




_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
    "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip


def decode_ansi_c(body: str) -> str:
    """Decode the inside of a `$'...'` string as bash does."""
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        i += 2
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
        elif e in "01234567":
            digits = re.match(r"[0-7]{0,2}", body[i:])
            assert digits is not None
            out.append(chr(int(e + digits.group(), 8) & 0xFF))
            i += len(digits.group())
        elif e in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[e]
            digits = re.match(rf"[0-9a-fA-F]{{1,{size}}}", body[i:])
            if digits is None:
                out.append("\\" + e)
            else:
                code = int(digits.group(), 16)
                out.append(chr(code) if code <= 0x10FFFF else "\ufffd")
                i += len(digits.group())
        elif e == "c" and i < n:
            out.append(chr(ord(body[i]) & 0x1F))
            i += 1
        else:
            out.append("\\" + e)
    return "".join(out)


def unquote_word(raw: str) -> tuple[str, bool]:
    """Quote removal for one word as written; returns (value, has_expansion).

    Expansions (`$x`, `${x}`, `$(...)`, backticks, `$((...))`) are kept as written, and
    `has_expansion` says whether the word contained one outside single quotes.
    """
    out: list[str] = []
    expansion = False
    scanner = Scanner(raw)
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "\\":
            if raw.startswith("\\\n", i):
                i += 2
                continue
            out.append(raw[i + 1 : i + 2] or "\\")  # a trailing backslash stays literal
            i += 2
        elif c == "'":
            end = scanner.single(i + 1)
            out.append(raw[i + 1 : end - 1])
            i = end
        elif raw.startswith("$'", i):
            end = scanner.ansi_c(i + 2)
            out.append(decode_ansi_c(raw[i + 2 : end - 1]))
            i = end
        elif c == '"' or raw.startswith('$"', i):
            i += 1 if c == '"' else 2
            i, has = _unquote_dquote(raw, i, scanner, out)
            expansion = expansion or has
        elif c == "$" or c == "`":
            end = _expansion_end(raw, i, scanner)
            out.append(raw[i:end])
            expansion = expansion or end > i + 1
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out), expansion


def _unquote_dquote(raw: str, i: int, scanner: Scanner, out: list[str]) -> tuple[int, bool]:
    expansion = False
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == '"':
            return i + 1, expansion
        if c == "\\" and i + 1 < n and raw[i + 1] in '$`"\\\n':
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        elif c == "$" or c == "`":
            end = _expansion_end(raw, i, scanner)
            out.append(raw[i:end])
            expansion = expansion or end > i + 1
            i = end
        else:
            out.append(c)
            i += 1
    raise ScanError("unterminated double quote")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]")


def _expansion_end(raw: str, i: int, scanner: Scanner) -> int:
    """End of the expansion starting at raw[i] (`$...` or a backtick); i + 1 for a literal `$`."""
    if raw[i] == "`":
        return scanner.command(i + 1, "`")
    if raw.startswith("$((", i) and (end := scanner.arith(i + 3)) is not None:
        return end
    if raw.startswith("$(", i):
        return scanner.command(i + 2, ")")
    if raw.startswith("${", i):
        return scanner.param(i + 2, in_dquote=True)
    match = _NAME.match(raw, i + 1)
    return match.end() if match else i + 1
