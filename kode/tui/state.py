"""The conversation as the TUI shows it: events folded into ordered items, per agent.

Plain Python, no Textual: `ConversationState.apply(event)` updates the items (user messages,
assistant messages with streaming text and thinking, tool calls, notices, sub-agent cards) of the
agent the event belongs to and returns an `Update` naming what was added, changed or removed, so
widgets can be found by key and updated in place. Status (model, mode, usage, agent state) and
pending approvals are folded here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kode.protocol import events as ev
from kode.protocol.common import ROOT_AGENT, Usage

Clock = Callable[[], float]
OUTPUT_CAP = 200_000
"""Characters of live tool output kept per call (the tail); the final output replaces it."""

ToolStatus = Literal["pending", "approval", "running", "ok", "error", "denied", "cancelled"]
FINISHED: tuple[str, ...] = ("ok", "error", "denied", "cancelled")


@dataclass(eq=False)
class Item:
    key: str
    agent_id: str
    version: int = 0

    def touch(self) -> None:
        self.version += 1


@dataclass(eq=False)
class UserItem(Item):
    text: str = ""


@dataclass(eq=False)
class AssistantItem(Item):
    text: str = ""
    thinking: str = ""
    streaming: bool = True
    model: str = ""
    usage: Usage = field(default_factory=Usage)


@dataclass(eq=False)
class ToolItem(Item):
    name: str = ""
    summary: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    status: ToolStatus = "pending"
    output: str = ""
    display: dict[str, Any] | None = None
    duration: float | None = None
    started_at: float | None = None
    """When it started running, on the state's clock (for the live elapsed time)."""
    decision: str = ""
    """How its approval was answered, if it needed one: "allow_once", "deny: reason", …"""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def diff(self) -> str:
        value = (self.display or {}).get("diff")
        return value if isinstance(value, str) else ""

    @property
    def exit_code(self) -> int | None:
        value = (self.display or {}).get("exit_code")
        return value if isinstance(value, int) else None

    def elapsed(self, now: float) -> float | None:
        if self.duration is not None:
            return self.duration
        if self.started_at is None:
            return None
        return max(0.0, now - self.started_at)


NoticeLevel = Literal["info", "warning", "error"]


@dataclass(eq=False)
class NoticeItem(Item):
    level: NoticeLevel = "info"
    text: str = ""
    hint: str = ""


@dataclass(eq=False)
class SubagentItem(Item):
    """The card a parent shows for a sub-agent it spawned."""

    child_id: str = ""
    agent_type: str = ""
    goal: str = ""
    status: str = "running"
    result: str = ""


@dataclass(eq=False)
class AgentView:
    """One agent's share of the conversation: its items, its state, what it cost."""

    agent_id: str
    parent_id: str | None = None
    agent_type: str = ""
    goal: str = ""
    state: str = "idle"
    detail: str = ""
    status: str = "running"
    """For sub-agents: running, then the TurnStatus it finished with."""
    result: str = ""
    usage: Usage = field(default_factory=Usage)
    items: list[Item] = field(default_factory=list)
    index: dict[str, Item] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None

    def add(self, item: Item) -> Item:
        self.items.append(item)
        self.index[item.key] = item
        return item

    def remove(self, key: str) -> Item | None:
        item = self.index.pop(key, None)
        if item is not None:
            self.items.remove(item)
        return item


@dataclass
class StatusInfo:
    session_id: str = ""
    cwd: str = ""
    model: str = ""
    permission_mode: str = "default"
    usage: Usage = field(default_factory=Usage)
    """Everything the session spent, every agent included."""
    by_model: dict[str, Usage] = field(default_factory=dict)
    context_tokens: int = 0
    """Input tokens of the root agent's latest model call: how full its context is."""
    turn_running: bool = False
    agent_state: str = "idle"
    detail: str = ""
    lagged: int = 0


@dataclass
class Update:
    """What one or more events changed, so widgets can be updated by key, not redrawn."""

    added: list[Item] = field(default_factory=list)
    changed: list[Item] = field(default_factory=list)
    removed: list[Item] = field(default_factory=list)
    status: bool = False
    agents: list[str] = field(default_factory=list)
    """Agents created or whose header (state, usage, status) changed."""
    approvals_opened: list[ev.ApprovalRequested] = field(default_factory=list)
    approvals_closed: list[str] = field(default_factory=list)
    turn_finished: bool = False
    memories: list[ev.MemoryItem] | None = None
    """The project's memories, when a `memories` event (the answer to list_memories) came."""
    memories_changed: bool = False
    """A memory was saved, edited or forgotten (a shown list is out of date)."""

    def merge(self, other: Update) -> Update:
        added_keys = {id(i) for i in self.added}
        for item in other.added:
            self.added.append(item)
        for item in other.changed:
            if id(item) not in added_keys and item not in self.changed:
                self.changed.append(item)
        for item in other.removed:
            if item in self.added:
                self.added.remove(item)
            if item in self.changed:
                self.changed.remove(item)
            self.removed.append(item)
        self.status = self.status or other.status
        self.agents.extend(a for a in other.agents if a not in self.agents)
        self.approvals_opened.extend(other.approvals_opened)
        self.approvals_closed.extend(other.approvals_closed)
        self.turn_finished = self.turn_finished or other.turn_finished
        if other.memories is not None:
            self.memories = other.memories
        self.memories_changed = self.memories_changed or other.memories_changed
        return self

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.changed or self.removed or self.status or self.agents
            or self.approvals_opened or self.approvals_closed or self.turn_finished
            or self.memories is not None or self.memories_changed
        )


class ConversationState:
    """Folds a session's events into what the TUI shows. Feed it every event, in order."""

    def __init__(self, *, clock: Clock = time.monotonic, model: str = "", permission_mode: str = "default") -> None:
        self.clock = clock
        self.status = StatusInfo(model=model, permission_mode=permission_mode)
        self.agents: dict[str, AgentView] = {ROOT_AGENT: AgentView(ROOT_AGENT)}
        self.pending_approvals: dict[str, ev.ApprovalRequested] = {}
        self.last_seq = 0
        self._notices = 0

    # -- queries -------------------------------------------------------------------------------

    @property
    def root(self) -> AgentView:
        return self.agents[ROOT_AGENT]

    def subagents(self) -> list[AgentView]:
        return [agent for agent_id, agent in self.agents.items() if agent_id != ROOT_AGENT]

    def item(self, agent_id: str, key: str) -> Item | None:
        agent = self.agents.get(agent_id)
        return agent.index.get(key) if agent else None

    def running_tools(self) -> list[ToolItem]:
        return [
            item
            for agent in self.agents.values()
            for item in agent.items
            if isinstance(item, ToolItem) and item.status == "running"
        ]

    # -- folding -------------------------------------------------------------------------------

    def apply_all(self, events: Iterable[ev.Event]) -> Update:
        update = Update()
        for event in events:
            update.merge(self.apply(event))
        return update

    def apply(self, event: ev.Event) -> Update:
        if event.seq:
            self.last_seq = max(self.last_seq, event.seq)
        handler = _HANDLERS.get(type(event))
        update = Update()
        if handler is not None:
            handler(self, event, update)
        return update

    def add_notice(self, agent_id: str, level: NoticeLevel, text: str, hint: str = "") -> Update:
        """A notice that did not come from the session (e.g. an export finished)."""
        update = Update()
        self._notice(agent_id, level, text, update, hint)
        return update

    def _agent(self, agent_id: str, parent_id: str | None, update: Update) -> AgentView:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = AgentView(agent_id, parent_id=parent_id, started_at=self.clock())
            update.agents.append(agent_id)
        return agent

    def _notice(self, agent_id: str, level: NoticeLevel, text: str, update: Update, hint: str = "") -> None:
        self._notices += 1
        agent = self._agent(agent_id, None, update)
        update.added.append(agent.add(NoticeItem(f"notice-{self._notices}", agent_id, level=level, text=text, hint=hint)))

    def _assistant(self, event: ev.TextDelta | ev.ThinkingDelta | ev.MessageCompleted, update: Update) -> AssistantItem:
        agent = self._agent(event.agent_id, event.parent_id, update)
        item = agent.index.get(event.message_id)
        if isinstance(item, AssistantItem):
            item.touch()
            update.changed.append(item)
            return item
        item = AssistantItem(event.message_id, event.agent_id)
        update.added.append(agent.add(item))
        return item

    def _tool(self, agent_id: str, call_id: str, update: Update, name: str = "") -> ToolItem:
        agent = self._agent(agent_id, None, update)
        item = agent.index.get(call_id)
        if isinstance(item, ToolItem):
            item.touch()
            update.changed.append(item)
            return item
        item = ToolItem(call_id, agent_id, name=name)
        update.added.append(agent.add(item))
        return item

    def _set_usage(self, agent: AgentView, usage: Usage, update: Update) -> None:
        agent.usage = agent.usage + usage
        self.status.usage = self.status.usage + usage
        update.status = True
        if agent.agent_id not in update.agents:
            update.agents.append(agent.agent_id)


# -- handlers, one per event type ---------------------------------------------------------------


def _session_started(state: ConversationState, event: ev.SessionStarted, update: Update) -> None:
    state.status.session_id = event.session_id
    state.status.cwd = event.cwd
    state.status.model = event.model
    state.status.permission_mode = event.permission_mode
    update.status = True


def _user_message(state: ConversationState, event: ev.UserMessage, update: Update) -> None:
    agent = state._agent(event.agent_id, event.parent_id, update)
    if event.message_id not in agent.index:
        update.added.append(agent.add(UserItem(event.message_id, event.agent_id, text=event.text)))


def _turn_started(state: ConversationState, event: ev.TurnStarted, update: Update) -> None:
    if event.agent_id == ROOT_AGENT:
        state.status.turn_running = True
        update.status = True


def _text_delta(state: ConversationState, event: ev.TextDelta, update: Update) -> None:
    item = state._assistant(event, update)
    if item.streaming:
        item.text += event.text


def _thinking_delta(state: ConversationState, event: ev.ThinkingDelta, update: Update) -> None:
    item = state._assistant(event, update)
    if item.streaming:
        item.thinking += event.text


def _billed(state: ConversationState, event: ev.MessageCompleted | ev.SideCall, update: Update) -> AgentView:
    """Count a model call's usage for its agent and its model; the agent, for what follows."""
    agent = state._agent(event.agent_id, event.parent_id, update)
    state._set_usage(agent, event.usage, update)
    model = event.model or "unknown"
    state.status.by_model[model] = state.status.by_model.get(model, Usage()) + event.usage
    return agent


def _side_call(state: ConversationState, event: ev.SideCall, update: Update) -> None:
    _billed(state, event, update)


def _message_completed(state: ConversationState, event: ev.MessageCompleted, update: Update) -> None:
    agent = _billed(state, event, update)
    if event.agent_id == ROOT_AGENT:
        state.status.context_tokens = event.usage.input_tokens + event.usage.cache_read_tokens
    if not event.text.strip() and not event.thinking.strip():
        removed = agent.remove(event.message_id)  # a message that only called tools
        if removed is not None:
            update.removed.append(removed)
        return
    item = state._assistant(event, update)
    item.text, item.thinking, item.streaming = event.text, event.thinking, False
    item.model, item.usage = event.model, event.usage


def _tool_requested(state: ConversationState, event: ev.ToolCallRequested, update: Update) -> None:
    item = state._tool(event.agent_id, event.call_id, update, event.name)
    item.name, item.summary, item.arguments = event.name, event.summary, dict(event.arguments)


def _tool_started(state: ConversationState, event: ev.ToolCallStarted, update: Update) -> None:
    item = state._tool(event.agent_id, event.call_id, update, event.name)
    if not item.finished:
        item.status = "running"
        item.started_at = state.clock()


def _tool_output(state: ConversationState, event: ev.ToolCallOutput, update: Update) -> None:
    item = state._tool(event.agent_id, event.call_id, update)
    if not item.finished:
        item.output = (item.output + event.chunk)[-OUTPUT_CAP:]


def _tool_finished(state: ConversationState, event: ev.ToolCallFinished, update: Update) -> None:
    item = state._tool(event.agent_id, event.call_id, update, event.name)
    item.status = event.status
    item.output = event.output
    item.display = dict(event.display) if event.display else None
    item.duration = event.duration


def _approval_requested(state: ConversationState, event: ev.ApprovalRequested, update: Update) -> None:
    state.pending_approvals[event.request_id] = event
    update.approvals_opened.append(event)
    item = state._tool(event.agent_id, event.call_id, update, event.tool_name)
    if not item.finished:
        item.status = "approval"


def _approval_resolved(state: ConversationState, event: ev.ApprovalResolved, update: Update) -> None:
    state.pending_approvals.pop(event.request_id, None)
    update.approvals_closed.append(event.request_id)
    item = state._tool(event.agent_id, event.call_id, update)
    item.decision = event.decision + (f": {event.reason}" if event.reason else "")
    if item.status == "approval":
        item.status = "pending"


def _agent_state(state: ConversationState, event: ev.AgentStateChanged, update: Update) -> None:
    agent = state._agent(event.agent_id, event.parent_id, update)
    agent.state, agent.detail = event.state.value, event.detail
    if event.agent_id == ROOT_AGENT:
        state.status.agent_state, state.status.detail = event.state.value, event.detail
        update.status = True
    elif event.agent_id not in update.agents:
        update.agents.append(event.agent_id)


def _turn_finished(state: ConversationState, event: ev.TurnFinished, update: Update) -> None:
    if event.agent_id == ROOT_AGENT:
        state.status.turn_running = False
        update.status = True
        update.turn_finished = True
    if event.status.value == "cancelled":
        state._notice(event.agent_id, "warning", "Turn cancelled.", update)
    elif event.status.value == "max_turns":
        state._notice(event.agent_id, "warning", f"Stopped after {event.model_calls} model calls (max_turns).", update)
    elif event.status.value == "interrupted":
        state._notice(event.agent_id, "warning", "This turn was interrupted (kode stopped while it ran).", update)


def _retrying(state: ConversationState, event: ev.Retrying, update: Update) -> None:
    agent = state._agent(event.agent_id, event.parent_id, update)
    if event.discarded_message_id:
        removed = agent.remove(event.discarded_message_id)
        if removed is not None:
            update.removed.append(removed)
    text = (
        f"{event.error.message} — retrying in {event.delay:g}s (attempt {event.attempt + 1} of {event.max_attempts})"
    )
    state._notice(event.agent_id, "warning", text, update)


def _error(state: ConversationState, event: ev.ErrorEvent, update: Update) -> None:
    state._notice(event.agent_id, "error", event.error.message, update, hint=event.error.hint or "")


def _warning(state: ConversationState, event: ev.Warning, update: Update) -> None:
    state._notice(event.agent_id, "warning", event.message, update)


def _settings_changed(state: ConversationState, event: ev.SettingsChanged, update: Update) -> None:
    state.status.model, state.status.permission_mode = event.model, event.permission_mode
    update.status = True


def _subagent_spawned(state: ConversationState, event: ev.SubagentSpawned, update: Update) -> None:
    child = state._agent(event.child_id, event.agent_id, update)
    child.parent_id, child.agent_type, child.goal, child.status = event.agent_id, event.agent_type, event.goal, "running"
    if event.child_id not in update.agents:
        update.agents.append(event.child_id)
    parent = state._agent(event.agent_id, event.parent_id, update)
    key = f"sub-{event.child_id}"
    if key not in parent.index:
        card = SubagentItem(key, event.agent_id, child_id=event.child_id, agent_type=event.agent_type, goal=event.goal)
        update.added.append(parent.add(card))


def _subagent_finished(state: ConversationState, event: ev.SubagentFinished, update: Update) -> None:
    child = state._agent(event.child_id, event.agent_id, update)
    child.status, child.result, child.finished_at = event.status.value, event.result, state.clock()
    if event.child_id not in update.agents:
        update.agents.append(event.child_id)
    parent = state._agent(event.agent_id, event.parent_id, update)
    card = parent.index.get(f"sub-{event.child_id}")
    if isinstance(card, SubagentItem):
        card.status, card.result = event.status.value, event.result
        card.touch()
        update.changed.append(card)


def _changes_applied(state: ConversationState, event: ev.ChangesApplied, update: Update) -> None:
    text = f"Applied the changes of {event.child_id}: {event.files} files, +{event.added} -{event.removed}"
    state._notice(event.agent_id, "info", text, update)


def _context_cleared(state: ConversationState, event: ev.ContextCleared, update: Update) -> None:
    state._notice(event.agent_id, "info", "Context cleared: the model no longer sees the conversation above.", update)


def _context_compacted(state: ConversationState, event: ev.ContextCompacted, update: Update) -> None:
    how = "summarised" if event.summary else "old tool outputs pruned"
    if event.fallback:
        how = "older turns dropped (the summary failed)"
    text = f"Context compacted ({event.reason}): {how}; ~{event.tokens_before:,} → ~{event.tokens_after:,} tokens"
    state._notice(event.agent_id, "info", text, update)


MemoryChange = ev.MemorySaved | ev.MemoryUpdated | ev.MemoryForgotten


def _memory_changed(state: ConversationState, event: MemoryChange, update: Update) -> None:
    if isinstance(event, ev.MemoryForgotten):
        text = f"Forgot memory #{event.id}"
    else:
        verb = "Remembered" if isinstance(event, ev.MemorySaved) else "Memory updated"
        text = f"{verb} ({event.memory.scope} #{event.memory.id}): {event.memory.text}"
    state._notice(event.agent_id, "info", text, update)
    update.memories_changed = True


def _memories(state: ConversationState, event: ev.Memories, update: Update) -> None:
    update.memories = list(event.memories)  # shown by /memory's dialog, not in the transcript


def _lagged(state: ConversationState, event: ev.Lagged, update: Update) -> None:
    state.status.lagged += event.missed
    update.status = True


_HANDLERS: dict[type, Callable[[ConversationState, Any, Update], None]] = {
    ev.SessionStarted: _session_started,
    ev.UserMessage: _user_message,
    ev.TurnStarted: _turn_started,
    ev.TextDelta: _text_delta,
    ev.ThinkingDelta: _thinking_delta,
    ev.MessageCompleted: _message_completed,
    ev.SideCall: _side_call,
    ev.ToolCallRequested: _tool_requested,
    ev.ToolCallStarted: _tool_started,
    ev.ToolCallOutput: _tool_output,
    ev.ToolCallFinished: _tool_finished,
    ev.ApprovalRequested: _approval_requested,
    ev.ApprovalResolved: _approval_resolved,
    ev.AgentStateChanged: _agent_state,
    ev.TurnFinished: _turn_finished,
    ev.Retrying: _retrying,
    ev.ErrorEvent: _error,
    ev.Warning: _warning,
    ev.SettingsChanged: _settings_changed,
    ev.SubagentSpawned: _subagent_spawned,
    ev.SubagentFinished: _subagent_finished,
    ev.ChangesApplied: _changes_applied,
    ev.ContextCleared: _context_cleared,
    ev.ContextCompacted: _context_compacted,
    ev.MemorySaved: _memory_changed,
    ev.MemoryUpdated: _memory_changed,
    ev.MemoryForgotten: _memory_changed,
    ev.Memories: _memories,
    ev.Lagged: _lagged,
}
