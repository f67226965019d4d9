"""Spending caps: a session, and a day, stop before they cost more than the user allowed.

The guard is checked before every model call (the root agent's and every sub-agent's): a cap
that is reached ends the turn as failed with a `spend_limit` error saying what was spent and
how to go on. Spending is counted from the events (`message_completed` and `side_call` usage), so resume and
sub-agents count; the day's spending by other sessions comes from the store when the session
opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from kode.llm.errors import LLMError
from kode.protocol.common import ErrorKind
from kode.protocol.events import BILLED, Event


@dataclass(slots=True)
class Budget:
    session_usd: float = 0.0
    """0: no cap."""
    daily_usd: float = 0.0
    spent_today_elsewhere: float = 0.0
    """What other sessions spent today, read from the store when this one opened."""
    spent: float = 0.0
    """This session's spending so far."""

    def record(self, event: Event) -> None:
        if isinstance(event, BILLED):
            self.spent += event.usage.cost_usd

    def check(self) -> None:
        """Raise LLMError(spend_limit) when a cap is reached."""
        if self.session_usd and self.spent >= self.session_usd:
            raise LLMError.make(
                ErrorKind.SPEND_LIMIT,
                f"this session's spending cap of ${self.session_usd:.2f} is reached (${self.spent:.4f} spent)",
                hint="Raise [budget] session_usd, or start a new session.",
            )
        today = self.spent + self.spent_today_elsewhere
        if self.daily_usd and today >= self.daily_usd:
            raise LLMError.make(
                ErrorKind.SPEND_LIMIT,
                f"today's spending cap of ${self.daily_usd:.2f} is reached (${today:.4f} spent today)",
                hint="Raise [budget] daily_usd, or wait until tomorrow (UTC).",
            )
