"""Merging token bursts into fewer text deltas.

Providers stream a token every couple of milliseconds. Sending each as its own event costs every
client (stamping, the log, thread hops, SSE frames, UI updates) for no visible gain, since no
one reads faster than a screen refreshes. Text that arrives within `interval` of the last delta
is held and sent together; a timer sends what is held if nothing more comes, so nothing waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

INTERVAL = 0.02
"""At most one text delta per 20 ms (50 a second) per message."""


class DeltaCoalescer:
    def __init__(self, emit_text: Callable[[str], object], interval: float = INTERVAL) -> None:
        self._emit_text = emit_text
        self._interval = interval
        self._held: list[str] = []
        self._last = float("-inf")
        self._timer: asyncio.TimerHandle | None = None

    def add(self, text: str) -> None:
        self._held.append(text)
        wait = self._interval - (time.monotonic() - self._last)
        if wait <= 0:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        """Send what is held now (before any other event of the same message)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._held:
            text, self._held = "".join(self._held), []
            self._emit_text(text)
        self._last = time.monotonic()

    def discard(self) -> None:
        """Drop what is held (the message is being voided or completed by a durable event)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._held = []
