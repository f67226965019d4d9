"""Large pastes collapse to a chip in the prompt and expand again when the message is sent."""

from __future__ import annotations

import re

PASTE_LINES = 8
PASTE_CHARS = 800
_CHIP = re.compile(r"\[Pasted text #(\d+) \+\d+ lines\]")


class PasteStore:
    def __init__(self, *, lines: int = PASTE_LINES, chars: int = PASTE_CHARS) -> None:
        self.lines = lines
        self.chars = chars
        self._pastes: dict[int, str] = {}

    def is_large(self, text: str) -> bool:
        return text.count("\n") + 1 > self.lines or len(text) > self.chars

    def chip(self, text: str) -> str:
        """Keep `text` and return the chip that stands for it in the prompt."""
        number = len(self._pastes) + 1
        self._pastes[number] = text
        return f"[Pasted text #{number} +{text.count(chr(10)) + 1} lines]"

    def expand(self, text: str) -> str:
        """`text` with every chip replaced by the paste it stands for."""
        return _CHIP.sub(lambda m: self._pastes.get(int(m.group(1)), m.group(0)), text)

    def clear(self) -> None:
        self._pastes.clear()
