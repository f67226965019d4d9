"""Machine-readable output for `kode ask`: one JSON object at the end, or one event per line."""

from __future__ import annotations

import json
from typing import Any, TextIO

from kode.protocol.codec import dump_event
from kode.protocol.events import Event, TurnFinished


def summary(finished: TurnFinished | None, *, session_id: str) -> dict[str, Any]:
    """The result object of `--output-format json` (documented in docs/cli.md)."""
    if finished is None:
        return {"type": "result", "session_id": session_id, "status": "failed", "is_error": True, "result": ""}
    return {
        "type": "result",
        "session_id": session_id,
        "status": finished.status.value,
        "is_error": finished.status.value != "completed",
        "result": finished.result,
        "usage": finished.usage.model_dump(exclude={"cost_usd"}),
        "cost_usd": finished.usage.cost_usd,
        "duration_s": finished.duration,
        "turns": finished.model_calls,
        "error": finished.error.model_dump(mode="json") if finished.error else None,
    }


class JsonRenderer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def event(self, event: Event) -> None:
        pass

    def finish(self, finished: TurnFinished | None, *, session_id: str) -> None:
        self.out.write(json.dumps(summary(finished, session_id=session_id)) + "\n")
        self.out.flush()


class StreamJsonRenderer:
    """Every protocol event, one JSON object per line (schema: docs/protocol.schema.json)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def event(self, event: Event) -> None:
        self.out.write(dump_event(event) + "\n")
        self.out.flush()

    def finish(self, finished: TurnFinished | None, *, session_id: str) -> None:
        self.out.flush()
