"""What the store hands back: plain frozen records, no ORM objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kode.protocol.common import Usage


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session: its columns plus the totals kept as its events arrive."""

    id: str
    title: str
    cwd: str
    model: str
    status: str
    created_at: datetime
    updated_at: datetime
    forked_from: str | None
    forked_at_seq: int | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: float
    event_count: int
    """How many durable events are stored."""
    last_seq: int
    """The highest stored seq (0 for none): resume a session's `EventLog` from here."""

    @property
    def usage(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cost_usd=self.cost_usd,
        )

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> SessionRecord:
        return cls(
            id=row["id"],
            title=row["title"],
            cwd=row["cwd"],
            model=row["model"],
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            forked_from=row["forked_from"],
            forked_at_seq=row["forked_at_seq"],
            input_tokens=int(row["input_tokens"]),
            output_tokens=int(row["output_tokens"]),
            cache_read_tokens=int(row["cache_read_tokens"]),
            cost_usd=float(row["cost_usd"]),
            event_count=int(row["event_count"]),
            last_seq=int(row["last_seq"]),
        )
