"""Making untrusted text inert before it reaches a terminal.

Every text field of an event (model output, tool output, file names, commands) is untrusted.
It can hold escape sequences: OSC 52 (writes the clipboard), OSC 8 (disguised links), CSI (moves
the cursor, rewrites what you saw) and bare control bytes. `inert` replaces every control
character except newline and tab by a visible stand-in, so nothing is interpreted and nothing
is silently lost. It lives with the protocol because every frontend that shows events needs it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x1B:
        return "␛"
    if code == 0x0D:
        return ""  # a bare CR would overwrite the line; CRLF still ends in LF
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode control pictures: ␀ ␁ …
    return f"\\x{code:02x}"


def inert(text: str) -> str:
    """`text` with every control character but newline and tab made visible and harmless."""
    return _CONTROL.sub(_visible, text)


def one_line(text: str, limit: int = 120) -> str:
    """A single inert line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(inert(text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"
