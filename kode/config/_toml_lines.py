"""Where each key of a TOML document is defined, so problems can be reported by line.

tomllib parses but keeps no positions; this small scanner walks a document tomllib has already
accepted and records the line of every table header and key.
"""

from __future__ import annotations

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def line_of(lines: dict[tuple[str, ...], int], parts: tuple[str, ...]) -> int | None:
    """The line defining ``parts``, or failing that, the nearest enclosing table or key."""
    for end in range(len(parts), 0, -1):
        line = lines.get(parts[:end])
        if line is not None:
            return line
    return None


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Key path -> line of its first appearance, for a document tomllib has already accepted.

    Table headers (``[a.b]``, ``[[a]]``) and dotted keys record every prefix of their path, so
    ``a`` maps to the first line that mentions it either way. Keys inside inline tables are not
    recorded; lookups fall back to the enclosing key (see ``line_of``).
    """
    lines: dict[tuple[str, ...], int] = {}

    def record(path: tuple[str, ...], line: int) -> None:
        for end in range(1, len(path) + 1):
            lines.setdefault(path[:end], line)

    table: tuple[str, ...] = ()
    pos, line, size = 0, 1, len(text)
    try:
        while pos < size:
            char = text[pos]
            if char in " \t\r":
                pos += 1
            elif char == "\n":
                line, pos = line + 1, pos + 1
            elif char == "#":
                pos = _line_end(text, pos)
            elif char == "[":
                start = pos + (2 if text.startswith("[[", pos) else 1)
                keys, pos = _read_key(text, start)
                table = tuple(keys)
                record(table, line)
                pos = _line_end(text, pos)
            else:
                keys, pos = _read_key(text, pos)
                record(table + tuple(keys), line)
                pos, line = _skip_value(text, pos + 1, line)
    except (IndexError, ValueError):
        pass  # best effort: positions are a convenience, tomllib is the judge of validity
    return lines


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _read_key(text: str, pos: int) -> tuple[list[str], int]:
    """Read a (dotted) key; return its parts and the position after it."""
    keys: list[str] = []
    while True:
        pos = _skip_ws(text, pos)
        char = text[pos]
        if char == '"':
            end = _basic_string_end(text, pos + 1)
            keys.append(_unescape(text[pos + 1 : end]))
            pos = end + 1
        elif char == "'":
            end = text.index("'", pos + 1)
            keys.append(text[pos + 1 : end])
            pos = end + 1
        else:
            end = pos
            while end < len(text) and text[end] in _BARE_KEY_CHARS:
                end += 1
            keys.append(text[pos:end])
            pos = end
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return keys, pos


def _basic_string_end(text: str, pos: int) -> int:
    """Index of the closing quote of a one-line basic string whose content starts at ``pos``."""
    while text[pos] != '"':
        pos += 2 if text[pos] == "\\" else 1
    return pos


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    import json

    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw


def _skip_value(text: str, pos: int, line: int) -> tuple[int, int]:
    """Skip a value (which may span lines); return the position after its line and the line."""
    depth = 0
    size = len(text)
    while pos < size:
        char = text[pos]
        if text.startswith('"""', pos) or text.startswith("'''", pos):
            end = _multiline_string_end(text, pos)
            line += text.count("\n", pos, end)
            pos = end
        elif char == '"':
            pos = _basic_string_end(text, pos + 1) + 1
        elif char == "'":
            pos = text.index("'", pos + 1) + 1
        elif char in "[{":
            depth, pos = depth + 1, pos + 1
        elif char in "]}":
            depth, pos = depth - 1, pos + 1
        elif char == "#":
            pos = _line_end(text, pos)
        elif char == "\n":
            line, pos = line + 1, pos + 1
            if depth <= 0:
                return pos, line
        else:
            pos += 1
    return pos, line


def _multiline_string_end(text: str, pos: int) -> int:
    """Position after a multi-line string opening at ``pos``."""
    quote = text[pos : pos + 3]
    pos += 3
    if quote == "'''":
        pos = text.index("'''", pos)
    else:
        while not text.startswith('"""', pos):
            pos += 2 if text[pos] == "\\" else 1
    pos += 3
    extra = 0  # up to two quotes may sit right before the closing delimiter
    while extra < 2 and pos < len(text) and text[pos] == quote[0]:
        pos, extra = pos + 1, extra + 1
    return pos
