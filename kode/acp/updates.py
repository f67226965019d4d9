"""kode events -> ACP `session/update` payloads.

One `UpdateTranslator` serves one pass over a session's events: a live turn (deltas stream as
message chunks) or a replay for `session/load` (durable events only: completed messages stand
in for their deltas). Text is tracked per message, so a completed message only adds what its
deltas did not already deliver: nothing is shown twice, nothing is lost when a reader lagged.
"""

from __future__ import annotations

from typing import Any

from acp import (
    start_tool_call,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
    update_user_message_text,
)
from acp.helpers import update_current_mode
from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AgentThoughtChunk,
    CurrentModeUpdate,
    PlanEntry,
    ToolCallProgress,
    ToolCallStart,
    UserMessageChunk,
)

from kode.acp.content import (
    clip,
    diff_contents,
    fenced,
    locations,
    text_content,
    tool_kind,
    tool_title,
)
from kode.protocol.common import ROOT_AGENT
from kode.protocol.events import (
    ErrorEvent,
    Event,
    MessageCompleted,
    Retrying,
    SettingsChanged,
    SubagentFinished,
    SubagentSpawned,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallOutput,
    ToolCallRequested,
    ToolCallStarted,
    TurnFinished,
    UserMessage,
    Warning,
)

Update = (
    AgentMessageChunk
    | AgentThoughtChunk
    | UserMessageChunk
    | ToolCallStart
    | ToolCallProgress
    | AgentPlanUpdate
    | CurrentModeUpdate
)


class UpdateTranslator:
    def __init__(self, cwd: str, *, replay: bool = False) -> None:
        self.cwd = cwd
        self.replay = replay
        self._text: dict[str, int] = {}
        """Characters of each message's text already sent as chunks."""
        self._thinking: dict[str, int] = {}
        self._output: dict[str, str] = {}
        self.finish_reason: str | None = None
        """The root agent's last completed message's finish reason (for the stop reason)."""

    def translate(self, event: Event) -> list[Update]:
        handler = getattr(self, f"_on_{event.type}", None)
        return handler(event) if handler is not None else []

    # -- conversation ----------------------------------------------------------------------------

    def _on_user_message(self, event: UserMessage) -> list[Update]:
        # live, the editor already shows what it sent
        return [update_user_message_text(event.text)] if self.replay and event.agent_id == ROOT_AGENT else []

    def _on_text_delta(self, event: TextDelta) -> list[Update]:
        if event.agent_id != ROOT_AGENT or not event.text:
            return []
        self._text[event.message_id] = self._text.get(event.message_id, 0) + len(event.text)
        return [update_agent_message_text(event.text)]

    def _on_thinking_delta(self, event: ThinkingDelta) -> list[Update]:
        if event.agent_id != ROOT_AGENT or not event.text:
            return []
        self._thinking[event.message_id] = self._thinking.get(event.message_id, 0) + len(event.text)
        return [update_agent_thought_text(event.text)]

    def _on_message_completed(self, event: MessageCompleted) -> list[Update]:
        if event.agent_id != ROOT_AGENT:
            return []  # a sub-agent's work shows as its tool call; its result comes with it
        self.finish_reason = event.finish_reason
        out: list[Update] = []
        thought = event.thinking[self._thinking.pop(event.message_id, 0) :]
        if thought:
            out.append(update_agent_thought_text(thought))
        text = event.text[self._text.pop(event.message_id, 0) :]
        if text:
            out.append(update_agent_message_text(text))
        return out

    def _on_retrying(self, event: Retrying) -> list[Update]:
        streamed = event.discarded_message_id is not None and self._text.pop(event.discarded_message_id, 0) > 0
        note = f"The model call failed ({event.error.message}); retrying in {event.delay:g}s"
        note += f" (attempt {event.attempt + 1} of {event.max_attempts})."
        if streamed:
            note += " The partial answer above is void; it starts over."
        return [update_agent_thought_text(note + "\n")]

    def _on_error(self, event: ErrorEvent) -> list[Update]:
        # live, a failed turn's error is the prompt's error response instead
        if not self.replay:
            return []
        hint = f" {event.error.hint}" if event.error.hint else ""
        return [update_agent_message_text(f"\n\n**Error:** {event.error.message}.{hint}\n")]

    def _on_warning(self, event: Warning) -> list[Update]:
        return [] if self.replay else [update_agent_thought_text(f"Warning: {event.message}\n")]

    def _on_turn_finished(self, event: TurnFinished) -> list[Update]:
        if self.replay and event.agent_id == ROOT_AGENT and event.status.value == "interrupted":
            return [update_agent_message_text("\n\n*(This turn was interrupted: kode stopped while it ran.)*\n")]
        return []

    def _on_settings_changed(self, event: SettingsChanged) -> list[Update]:
        # a replay ends with the load response, whose mode is the one in force now
        return [] if self.replay else [update_current_mode(event.permission_mode)]

    # -- tool calls ------------------------------------------------------------------------------

    def _on_tool_call_requested(self, event: ToolCallRequested) -> list[Update]:
        return [
            start_tool_call(
                event.call_id,
                tool_title(event.name, event.summary),
                kind=tool_kind(event.name),
                status="pending",
                locations=locations(self.cwd, event.arguments),
                raw_input=event.arguments,
            )
        ]

    def _on_tool_call_started(self, event: ToolCallStarted) -> list[Update]:
        return [update_tool_call(event.call_id, status="in_progress")]

    def _on_tool_call_output(self, event: ToolCallOutput) -> list[Update]:
        so_far = self._output.get(event.call_id, "") + event.chunk
        self._output[event.call_id] = so_far
        return [update_tool_call(event.call_id, content=[text_content(fenced(clip(so_far, tail=True)))])]

    def _on_tool_call_finished(self, event: ToolCallFinished) -> list[Update]:
        self._output.pop(event.call_id, None)
        display: dict[str, Any] = event.display or {}
        diff = display.get("diff")
        if event.status == "ok" and isinstance(diff, str) and diff:
            content = [*diff_contents(diff, self.cwd), text_content(event.output)]
        elif event.status in ("denied", "cancelled"):
            content = [text_content(event.output)]
        else:
            content = [text_content(fenced(clip(event.output)))]
        status = "completed" if event.status == "ok" else "failed"
        raw = {"status": event.status, **{k: v for k, v in display.items() if k not in ("diff", "todos")}}
        out: list[Update] = [update_tool_call(event.call_id, status=status, content=content, raw_output=raw)]
        todos = display.get("todos")
        if event.status == "ok" and isinstance(todos, list) and event.agent_id == ROOT_AGENT:
            out.append(update_plan(_plan_entry(item) for item in todos if isinstance(item, dict)))
        return out

    # -- sub-agents ------------------------------------------------------------------------------

    def _on_subagent_spawned(self, event: SubagentSpawned) -> list[Update]:
        title = f"Sub-agent ({event.agent_type}): {event.goal.splitlines()[0] if event.goal else ''}".rstrip(": ")
        return [start_tool_call(event.child_id, title[:200], kind="think", status="in_progress")]

    def _on_subagent_finished(self, event: SubagentFinished) -> list[Update]:
        status = "completed" if event.status.value == "completed" else "failed"
        content = [text_content(clip(event.result))] if event.result else None
        return [update_tool_call(event.child_id, status=status, content=content)]


def _plan_entry(item: dict[str, Any]) -> PlanEntry:
    status = item.get("status")
    return PlanEntry(
        content=str(item.get("content", "")),
        priority="medium",
        status=status if status in ("pending", "in_progress", "completed") else "pending",
    )
