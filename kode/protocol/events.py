"""Events: everything that happens in a session, as plain data.

Every event carries `session_id`, `agent_id` (the root agent or a sub-agent), `parent_id` (the
spawning agent, for sub-agents), a per-session monotonically increasing `seq` and a `time`.
Durable events are persisted and replayed; live-only events (token and output deltas) are folded
into the durable event that completes them. Tool activity is Begin/Delta/End keyed by `call_id`,
assistant text by `message_id`, so a client can update widgets in place, never by arrival order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from kode.protocol.common import (
    ROOT_AGENT,
    AgentState,
    ApprovalDecision,
    ErrorInfo,
    Model,
    PermissionModeName,
    ToolCallInfo,
    TurnStatus,
    Usage,
)


def _now() -> datetime:
    return datetime.now(UTC)


class EventBase(Model):
    durable: ClassVar[bool] = True
    """False for deltas: streamed live, never stored, folded into a later durable event."""

    type: str
    """Overridden by each event with its Literal; declared here so it serialises first."""
    session_id: str = ""
    agent_id: str = ROOT_AGENT
    parent_id: str | None = None
    seq: int = 0
    time: datetime = Field(default_factory=_now)


class SessionStarted(EventBase):
    type: Literal["session_started"] = "session_started"
    cwd: str
    model: str
    permission_mode: PermissionModeName
    kode_version: str


class UserMessage(EventBase):
    type: Literal["user_message"] = "user_message"
    message_id: str
    text: str


class TurnStarted(EventBase):
    type: Literal["turn_started"] = "turn_started"
    turn_id: str
    model: str
    task_kind: str = ""
    """What the request was classified as when routing rules by task kind apply (docs/context.md)."""


class TextDelta(EventBase):
    durable: ClassVar[bool] = False
    type: Literal["text_delta"] = "text_delta"
    message_id: str
    text: str


class ThinkingDelta(EventBase):
    durable: ClassVar[bool] = False
    type: Literal["thinking_delta"] = "thinking_delta"
    message_id: str
    text: str


class MessageCompleted(EventBase):
    """An assistant message as the model finished it: the folded deltas plus its tool calls."""

    type: Literal["message_completed"] = "message_completed"
    message_id: str
    text: str
    thinking: str = ""
    tool_calls: list[ToolCallInfo] = Field(default_factory=list)
    finish_reason: str | None = None
    model: str = ""
    usage: Usage = Field(default_factory=Usage)


SideCallPurpose = Literal["title", "summary", "router"]


class SideCall(EventBase):
    """A model call kode made for itself, outside the conversation: a session title, a compaction
    summary, the router's classification. It costs like any other call, so usage and spending
    caps count it (see `BILLED`); it adds nothing to the transcript."""

    type: Literal["side_call"] = "side_call"
    purpose: SideCallPurpose
    model: str = ""
    usage: Usage = Field(default_factory=Usage)


class ToolCallRequested(EventBase):
    type: Literal["tool_call_requested"] = "tool_call_requested"
    call_id: str
    name: str
    arguments: dict[str, Any]
    summary: str = ""


class ToolCallStarted(EventBase):
    type: Literal["tool_call_started"] = "tool_call_started"
    call_id: str
    name: str


class ToolCallOutput(EventBase):
    durable: ClassVar[bool] = False
    type: Literal["tool_call_output"] = "tool_call_output"
    call_id: str
    chunk: str


class ToolCallFinished(EventBase):
    type: Literal["tool_call_finished"] = "tool_call_finished"
    call_id: str
    name: str
    status: Literal["ok", "error", "denied", "cancelled"]
    output: str
    """Exactly what the model is shown as the tool's result."""
    display: dict[str, Any] | None = None
    duration: float = 0.0


class ApprovalRequested(EventBase):
    type: Literal["approval_requested"] = "approval_requested"
    request_id: str
    call_id: str
    tool_name: str
    kind: str
    summary: str
    details: str = ""
    """Exactly what would run or change: the command, or the diff of an edit."""
    suggested_rule: str = ""
    """The rule "allow for this session" would add."""


class ApprovalResolved(EventBase):
    type: Literal["approval_resolved"] = "approval_resolved"
    request_id: str
    call_id: str
    decision: ApprovalDecision
    reason: str = ""
    by: str = "user"
    """Who answered: "user", "policy" (non-interactive), "cancel", "timeout"."""


class AgentStateChanged(EventBase):
    type: Literal["agent_state"] = "agent_state"
    state: AgentState
    detail: str = ""


class TurnFinished(EventBase):
    type: Literal["turn_finished"] = "turn_finished"
    turn_id: str
    status: TurnStatus
    duration: float
    usage: Usage = Field(default_factory=Usage)
    model_calls: int = 0
    result: str = ""
    """The final assistant text of the turn (what `kode ask` prints)."""
    error: ErrorInfo | None = None


class Retrying(EventBase):
    """A model call failed in a retryable way; kode waits `delay` seconds and tries again.

    Text streamed for `discarded_message_id` is void: clients drop it.
    """

    type: Literal["retrying"] = "retrying"
    attempt: int
    max_attempts: int
    delay: float
    error: ErrorInfo
    discarded_message_id: str | None = None


class ErrorEvent(EventBase):
    type: Literal["error"] = "error"
    error: ErrorInfo


class Warning(EventBase):  # noqa: A001 - the protocol's name for it
    type: Literal["warning"] = "warning"
    code: str
    message: str


class SettingsChanged(EventBase):
    type: Literal["settings_changed"] = "settings_changed"
    model: str
    permission_mode: PermissionModeName


class ContextCleared(EventBase):
    """The conversation so far is no longer sent to the model (`/clear`, the server's clear).

    The events stay in the log, so clients can still show them and the store keeps them."""

    type: Literal["context_cleared"] = "context_cleared"


class ContextCompacted(EventBase):
    """The agent's context was compacted (see kode.core.compaction). With a `summary`, the
    messages before the last `keep_last` are replaced by it; without one, only their tool
    outputs were pruned. The log keeps everything; this changes what the model is sent."""

    type: Literal["context_compacted"] = "context_compacted"
    reason: Literal["auto", "manual", "overflow"]
    summary: str
    keep_last: int
    tokens_before: int = 0
    tokens_after: int = 0
    fallback: bool = False
    """The summary could not be made; the old turns were dropped instead."""
    prune_kept: bool = False
    """The kept turns alone were too big: their tool outputs were pruned too."""


class MemoryItem(Model):
    id: int
    scope: str
    text: str


class MemorySaved(EventBase):
    type: Literal["memory_saved"] = "memory_saved"
    memory: MemoryItem


class MemoryUpdated(EventBase):
    type: Literal["memory_updated"] = "memory_updated"
    memory: MemoryItem


class MemoryForgotten(EventBase):
    type: Literal["memory_forgotten"] = "memory_forgotten"
    id: int


class Memories(EventBase):
    """The answer to `list_memories` (live only: it is a view, not part of the conversation)."""

    durable: ClassVar[bool] = False
    type: Literal["memories"] = "memories"
    memories: list[MemoryItem]


class SubagentSpawned(EventBase):
    """Emitted under the parent's agent_id; `child_id` is the new agent."""

    type: Literal["subagent_spawned"] = "subagent_spawned"
    child_id: str
    agent_type: str
    goal: str


class SubagentFinished(EventBase):
    type: Literal["subagent_finished"] = "subagent_finished"
    child_id: str
    status: TurnStatus
    result: str = ""
    usage: Usage = Field(default_factory=Usage)


class BestOfEntry(Model):
    child_id: str
    model: str
    status: TurnStatus
    passed: bool | None
    """Whether the check passed; None when there was no check to run."""
    check_output: str = ""
    """The tail of the check's output."""
    files: int = 0
    added: int = 0
    removed: int = 0
    cost_usd: float = 0.0


class BestOfFinished(EventBase):
    """A best-of-N run ended: its attempts, best first. Apply one with the `apply_changes` op."""

    type: Literal["best_of_finished"] = "best_of_finished"
    task: str
    check: str
    ranking: list[BestOfEntry]


class ChangesApplied(EventBase):
    """A sub-agent's changes were applied to the workspace."""

    type: Literal["changes_applied"] = "changes_applied"
    child_id: str
    files: int
    added: int
    removed: int


class Lagged(EventBase):
    """Sent to a subscriber that fell behind its bounded queue: `missed` live events were dropped.

    Durable events are never dropped; a client can re-read them with `events(since=seq)`.
    """

    durable: ClassVar[bool] = False
    type: Literal["lagged"] = "lagged"
    missed: int


Event = Annotated[
    SessionStarted
    | UserMessage
    | TurnStarted
    | TextDelta
    | ThinkingDelta
    | MessageCompleted
    | SideCall
    | ToolCallRequested
    | ToolCallStarted
    | ToolCallOutput
    | ToolCallFinished
    | ApprovalRequested
    | ApprovalResolved
    | AgentStateChanged
    | TurnFinished
    | Retrying
    | ErrorEvent
    | Warning
    | SettingsChanged
    | ContextCleared
    | ContextCompacted
    | MemorySaved
    | MemoryUpdated
    | MemoryForgotten
    | Memories
    | SubagentSpawned
    | SubagentFinished
    | BestOfFinished
    | ChangesApplied
    | Lagged,
    Field(discriminator="type"),
]

BILLED = (MessageCompleted, SideCall)
"""The events that carry a model call's `model` and `usage`: what usage and spending add up."""
