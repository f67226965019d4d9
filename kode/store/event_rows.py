"""Events to rows, and the per-session totals a batch of them adds.

Usage is counted from the events of single model calls only (`message_completed`, `side_call`:
`BILLED`), so the totals include turns that died half way and the calls of sub-agents (their
events are in the same log).
`turn_finished` and `subagent_finished` carry sums of those same calls, so counting them as well
would count every token twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kode.protocol.codec import dump_event
from kode.protocol.events import (
    BILLED,
    Event,
    SessionStarted,
    SettingsChanged,
)


@dataclass(frozen=True, slots=True)
class Totals:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    count: int = 0
    last_seq: int = 0
    model: str | None = None
    """The model the batch switched to, if it did (session_started / settings_changed)."""


def to_rows(session_id: str, events: Sequence[Event]) -> list[dict[str, Any]]:
    """Validate a batch (durable, this session's, seq strictly increasing) and encode it."""
    rows: list[dict[str, Any]] = []
    previous = 0
    for event in events:
        if not event.durable:
            raise ValueError(f"{event.type} is a live-only event; the store keeps durable events")
        if event.session_id != session_id:
            raise ValueError(f"event of session {event.session_id!r} appended to {session_id!r}")
        if event.seq <= previous:
            raise ValueError(f"seq {event.seq} after {previous}: events must come in increasing seq order")
        previous = event.seq
        rows.append(
            {
                "session_id": session_id,
                "seq": event.seq,
                "type": event.type,
                "agent_id": event.agent_id,
                "payload": dump_event(event),
            }
        )
    return rows


def totals_of(events: Sequence[Event]) -> Totals:
    input_tokens = output_tokens = cache_read = 0
    cost = 0.0
    model: str | None = None
    for event in events:
        if isinstance(event, BILLED):
            usage = event.usage
            input_tokens += usage.input_tokens
            output_tokens += usage.output_tokens
            cache_read += usage.cache_read_tokens
            cost += usage.cost_usd
        elif isinstance(event, SessionStarted | SettingsChanged):
            model = event.model
    return Totals(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cost_usd=round(cost, 10),
        count=len(events),
        last_seq=max((e.seq for e in events), default=0),
        model=model,
    )
