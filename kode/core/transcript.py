"""The model's view of one agent's conversation: a projection of the durable event log.

The message list sent to the provider is never stored separately. It is rebuilt, event by event,
from the same durable events every client sees, whether they were just emitted or loaded from
the store on resume. One rule keeps any history valid for every provider: each tool call in an
assistant message gets exactly one result; a call whose turn ended before it finished (cancelled,
killed, failed) gets a synthetic one saying so.
"""

from __future__ import annotations

from typing import Any

from kode.core.compaction import apply_compaction
from kode.protocol.common import ROOT_AGENT
from kode.protocol.events import (
    ContextCleared,
    ContextCompacted,
    Event,
    MessageCompleted,
    ToolCallFinished,
    TurnFinished,
    UserMessage,
)


class Transcript:
    def __init__(self, agent_id: str = ROOT_AGENT) -> None:
        self.agent_id = agent_id
        self.messages: list[dict[str, Any]] = []
        self._pending: dict[str, str] = {}
        """call_id -> tool name, for calls requested but not yet answered."""

    @classmethod
    def from_events(cls, events: list[Event], agent_id: str = ROOT_AGENT) -> Transcript:
        transcript = cls(agent_id)
        for event in events:
            transcript.apply(event)
        return transcript

    def apply(self, event: Event) -> None:
        if event.agent_id != self.agent_id or not event.durable:
            return
        if isinstance(event, UserMessage):
            self._close_pending("the turn ended before this tool call finished")
            self.messages.append({"role": "user", "content": event.text})
        elif isinstance(event, MessageCompleted):
            self._add_assistant(event)
        elif isinstance(event, ToolCallFinished):
            if self._pending.pop(event.call_id, None) is not None:
                self.messages.append({"role": "tool", "tool_call_id": event.call_id, "content": event.output})
        elif isinstance(event, TurnFinished):
            self._close_pending(f"not run: the turn ended ({event.status.value})")
        elif isinstance(event, ContextCleared):
            self.messages.clear()
            self._pending.clear()
        elif isinstance(event, ContextCompacted):
            self.messages = apply_compaction(self.messages, event)

    def _add_assistant(self, event: MessageCompleted) -> None:
        if not event.text and not event.tool_calls:
            return
        message: dict[str, Any] = {"role": "assistant", "content": event.text or None}
        if event.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                for c in event.tool_calls
            ]
            self._pending.update({c.id: c.name for c in event.tool_calls})
        self.messages.append(message)

    def _close_pending(self, why: str) -> None:
        for call_id in list(self._pending):
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": f"[{why}]"})
        self._pending.clear()
