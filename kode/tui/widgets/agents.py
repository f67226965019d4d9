"""Sub-agent panes: each sub-agent's stream, tool calls, status and cost, in its own pane.

Panes sit in a side panel that appears when the first sub-agent spawns. A pane can be focused
(F2 cycles), collapsed (Enter/Space on its header, or `c`) and closed (`x`); closed panes can be
reopened from the command palette.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from kode.protocol.text import one_line
from kode.tui.state import AgentView
from kode.tui.widgets.status_line import human_tokens
from kode.tui.widgets.tool_card import format_elapsed
from kode.tui.widgets.transcript import Transcript

STATUS_ICONS = {"running": "◐", "completed": "✓", "cancelled": "■"}


def agent_header(agent: AgentView, *, collapsed: bool, now: float) -> Content:
    icon = STATUS_ICONS.get(agent.status, "✗")
    end = agent.finished_at if agent.finished_at is not None else now
    elapsed = format_elapsed(end - agent.started_at) if agent.started_at is not None else ""
    doing = agent.state.replace("_", " ") if agent.status == "running" else agent.status
    tokens = agent.usage.input_tokens + agent.usage.output_tokens
    facts = " · ".join(x for x in (doing, f"{human_tokens(tokens)} tok", f"${agent.usage.cost_usd:.4f}", elapsed) if x)
    return Content.assemble(
        ("▸ " if collapsed else "▾ ", "bold"),
        (f"{icon} ", "bold $text-secondary"),
        (one_line(agent.agent_type or "agent", 24), "bold"),
        ("  " + facts, "$text-muted"),
        ("\n  " + one_line(agent.goal or agent.agent_id, 200), ""),
    )


class AgentHeader(Static, can_focus=True):
    DEFAULT_CLASSES = "agent-header"
    BINDINGS = [
        Binding("enter,space,c", "toggle", "Collapse/expand", id="agent.toggle"),
        Binding("x,delete", "close", "Close pane", id="agent.close"),
    ]

    class Toggle(Message):
        pass

    class Close(Message):
        pass

    def action_toggle(self) -> None:
        self.post_message(self.Toggle())

    def action_close(self) -> None:
        self.post_message(self.Close())

    def on_click(self) -> None:
        self.post_message(self.Toggle())


class AgentPane(Vertical):
    DEFAULT_CLASSES = "agent-pane"

    class Closed(Message):
        def __init__(self, agent_id: str) -> None:
            super().__init__()
            self.agent_id = agent_id

    def __init__(self, agent: AgentView, *, window: int, now: float, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.agent = agent
        self.collapsed = False
        self.header = AgentHeader(agent_header(agent, collapsed=False, now=now))
        self.transcript = Transcript(window=window, classes="agent-transcript")

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.transcript

    async def on_mount(self) -> None:
        await self.transcript.reset(self.agent.items, 0.0)

    def refresh_header(self, now: float) -> None:
        self.header.update(agent_header(self.agent, collapsed=self.collapsed, now=now))
        self.set_class(self.agent.status != "running", "-finished")

    def set_collapsed(self, collapsed: bool, now: float = 0.0) -> None:
        self.collapsed = collapsed
        self.transcript.display = not collapsed
        self.set_class(collapsed, "-collapsed")
        self.refresh_header(now)

    def on_agent_header_toggle(self, message: AgentHeader.Toggle) -> None:
        message.stop()
        self.set_collapsed(not self.collapsed)

    def on_agent_header_close(self, message: AgentHeader.Close) -> None:
        message.stop()
        self.post_message(self.Closed(self.agent.agent_id))


class AgentPanel(VerticalScroll):
    """The side panel holding one pane per open sub-agent."""

    DEFAULT_CLASSES = "agent-panel"

    def __init__(self, *, window: int = 100, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.window = window
        self.panes: dict[str, AgentPane] = {}
        self.closed: set[str] = set()

    async def ensure(self, agent: AgentView, now: float) -> bool:
        """Open a pane for `agent` unless it has one or was closed; True if one was created
        (it shows all of the agent's items already)."""
        if agent.agent_id in self.closed or agent.agent_id in self.panes:
            return False
        pane = self.panes[agent.agent_id] = AgentPane(agent, window=self.window, now=now)
        self.display = True
        await self.mount(pane)
        return True

    async def close(self, agent_id: str) -> None:
        pane = self.panes.pop(agent_id, None)
        self.closed.add(agent_id)
        if pane is not None:
            await pane.remove()
        self.display = bool(self.panes)

    def reopen_all(self) -> list[str]:
        reopened = sorted(self.closed)
        self.closed.clear()
        return reopened

    def tick(self, now: float) -> None:
        for pane in self.panes.values():
            if pane.agent.status == "running":
                pane.refresh_header(now)
            pane.transcript.tick(now)
