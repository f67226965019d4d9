"""The doom-loop guard: the same tool call, made again and again, is a model going in circles.

Identical consecutive calls (same tool, same arguments) warn the model at `warn_at` and stop the
turn at `stop_at`. Only consecutive repeats count, so a test run after every edit is fine.
"""

from __future__ import annotations

import json
from typing import Any, Literal

Verdict = Literal["ok", "warn", "stop"]

WARNING_NOTE = (
    "[kode: this is the {n}th identical {name} call in a row and it is not making progress. "
    "Change approach; at {stop} repeats the turn is stopped.]"
)


class RepeatGuard:
    def __init__(self, warn_at: int = 3, stop_at: int = 6) -> None:
        self.warn_at = warn_at
        self.stop_at = stop_at
        self._last: str | None = None
        self.count = 0

    def observe(self, name: str, arguments: dict[str, Any]) -> Verdict:
        signature = name + "\x00" + json.dumps(arguments, sort_keys=True, default=str)
        self.count = self.count + 1 if signature == self._last else 1
        self._last = signature
        if self.count >= self.stop_at:
            return "stop"
        if self.count >= self.warn_at:
            return "warn"
        return "ok"

    def note(self, name: str) -> str:
        return WARNING_NOTE.format(n=self.count, name=name, stop=self.stop_at)
