"""KodeApp: the Textual app, a thin shell around a SessionClient.

Events come up from the client through the `EventBridge`, are folded into the plain-Python
`ConversationState`, and the `Update` it returns is pushed down into widgets found by key. User
intent goes out as ops through `client.submit`. Slash commands and pickers live in
`CommandActions`; everything stateful is in plain classes (state, history, completion, themes).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Static

from kode.client.base import SessionClient
from kode.protocol.common import ROOT_AGENT
from kode.protocol.events import ApprovalRequested
from kode.protocol.ops import (
    AnswerApproval,
    Cancel,
    Op,
    Remember,
    SetPermissionMode,
    SubmitMessage,
)
from kode.protocol.text import one_line
from kode.tui.actions import FactoryActions, SessionActions
from kode.tui.bridge import EventBridge
from kode.tui.command_actions import CommandActions
from kode.tui.commands import parse_slash
from kode.tui.completion import list_workspace
from kode.tui.gitinfo import git_branch
from kode.tui.history import PromptHistory
from kode.tui.options import AppOptions
from kode.tui.prefs import TuiPrefs
from kode.tui.state import ConversationState, Item, Update
from kode.tui.themes import DEFAULT_THEME, discover_themes, shipped_theme_dirs
from kode.tui.widgets.agents import AgentPane, AgentPanel
from kode.tui.widgets.approval import ApprovalAnswer, ApprovalScreen
from kode.tui.widgets.message import AssistantMessageView, warm_imports
from kode.tui.widgets.prompt import PromptBar, PromptInput
from kode.tui.widgets.status_line import StatusLine
from kode.tui.widgets.transcript import Transcript

MODE_CYCLE = ("default", "accept-edits", "plan")
QUIT_WINDOW = 2.0
CLOSE_TIMEOUT = 3.0
FRAME_BUDGET = 1 / 30
"""Seconds between two updates of the transcript from the event stream (at most 30 per second)."""
"""Seconds within which a second Ctrl+C quits."""


class KodeApp(CommandActions, App[int]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "kode"
    BINDINGS = [
        Binding("escape", "cancel_turn", "Cancel the running turn", id="cancel"),
        Binding("ctrl+c", "interrupt", "Cancel / clear; twice to quit", priority=True, id="quit"),
        Binding("shift+tab", "cycle_mode", "Cycle permission mode", priority=True, id="cycle-mode"),
        Binding("f1", "help", "Help", id="help"),
        Binding("ctrl+t", "toggle_thinking", "Show/hide thinking", id="toggle-thinking"),
        Binding("ctrl+o", "toggle_output", "Expand/collapse the latest tool output", id="toggle-output"),
        Binding("f2", "focus_agents", "Focus the next sub-agent pane", id="focus-agents"),
        Binding("pageup", "scroll_transcript(-1)", "Scroll up", priority=True, id="scroll-up"),
        Binding("pagedown", "scroll_transcript(1)", "Scroll down", priority=True, id="scroll-down"),
    ]
    MAIN_ONLY = {"cancel_turn", "cycle_mode", "toggle_thinking", "toggle_output", "focus_agents", "scroll_transcript"}

    def __init__(self, client: SessionClient, *, options: AppOptions | None = None) -> None:
        self.options = options or AppOptions()
        super().__init__()
        if not self.options.animations:
            self.animation_level = "none"
        self.client = client
        self.actions: SessionActions = self.options.actions or FactoryActions()
        self.clock = self.options.clock
        self.state = self._new_state()
        self.history = PromptHistory(self.options.history_path)
        self.prefs = TuiPrefs.load(self.options.prefs_path)
        self.branch = self.options.branch
        if self.branch is None and self.options.detect_branch:
            self.branch = git_branch(self.options.cwd)
        self.bridge: EventBridge | None = None
        self.queued: list[str] = []
        self.theme_errors: list[str] = []
        self._hint = ""
        self._last_interrupt = 0.0
        self._approval_queue: list[ApprovalRequested] = []
        self._approval_screen: ApprovalScreen | None = None
        self._thinking_expanded = False
        self._last_flush = 0.0
        self._flush_scheduled = False
        self._load_themes()

    # -- setup ---------------------------------------------------------------------------------

    def _new_state(self) -> ConversationState:
        return ConversationState(clock=self.clock, model=self.options.model, permission_mode=self.options.permission_mode)

    def _load_themes(self) -> None:
        dirs = self.options.theme_dirs if self.options.theme_dirs is not None else shipped_theme_dirs()
        found = discover_themes(dirs)
        self.theme_errors = found.errors
        self.kode_themes = sorted(found.themes)
        for theme in found.themes.values():
            self.register_theme(theme)
        for name in (self.options.theme, self.prefs.theme, DEFAULT_THEME):
            if name and name in self.available_themes:
                self.theme = name
                break

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Transcript(window=self.options.window, id="transcript")
            panel = AgentPanel(window=max(20, self.options.window // 3), id="agents")
            panel.display = False
            yield panel
        paths = self.options.list_paths or (lambda: list_workspace(self.options.cwd))
        yield PromptBar(self.history, paths=paths, id="prompt-bar")
        yield StatusLine(id="status")

    async def on_mount(self) -> None:
        if not self.options.animations:
            self.prompt.cursor_blink = False
        await self.transcript.mount(self._banner(), before=0)
        self.prompt.focus()
        self._refresh_status()
        self._start_bridge()
        self.set_interval(1.0, self._tick, name="tick")
        self.call_after_refresh(self._after_first_paint)
        for error in self.theme_errors:
            self.notify(error, title="Theme not loaded", severity="warning")

    async def on_unmount(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
        try:
            await asyncio.wait_for(self.client.close(), CLOSE_TIMEOUT)
        except Exception:  # noqa: BLE001 - leaving anyway
            pass

    def _after_first_paint(self) -> None:
        threading.Thread(target=warm_imports, name="kode-warm-markdown", daemon=True).start()
        if self.options.on_ready is not None:
            self.options.on_ready()

    def _banner(self) -> Static:
        text = Content.assemble(
            ("kode", "bold $text-primary"),
            ("  " + one_line(str(self.options.cwd), 80), "$text-muted"),
            ("\n/help for commands · ? or F1 for keys · Ctrl+P command palette", "$text-muted"),
            ("\n" + one_line(self.options.banner_note, 200) if self.options.banner_note else "", "$text-accent"),
        )
        return Static(text, id="banner")

    def _start_bridge(self) -> None:
        self.bridge = EventBridge(self, self.client, since=self.state.last_seq)
        self.bridge.start()

    # -- widgets, found by id ------------------------------------------------------------------

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#transcript", Transcript)

    @property
    def agent_panel(self) -> AgentPanel:
        return self.query_one("#agents", AgentPanel)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    @property
    def status_line(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    # -- events from the session ---------------------------------------------------------------

    async def on_event_bridge_events_ready(self, message: EventBridge.EventsReady) -> None:
        if message.bridge is not self.bridge:
            return  # a stream we already left (/new, /resume)
        wait = self._last_flush + FRAME_BUDGET - time.monotonic()
        if wait > 0:
            # At most one update per frame budget: events keep piling up in the bridge meanwhile
            # and are applied together, which leaves the loop free for keys and painting.
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.set_timer(wait, self._flush_events)
            return
        await self._flush_events()

    async def _flush_events(self) -> None:
        self._flush_scheduled = False
        self._last_flush = time.monotonic()
        if self.bridge is None:
            return
        events = self.bridge.drain()
        if events:
            await self.show(self.state.apply_all(events))

    def on_event_bridge_stream_ended(self, message: EventBridge.StreamEnded) -> None:
        if message.bridge is self.bridge and message.error:
            self.run_worker(self.show(self.state.add_notice(ROOT_AGENT, "error", f"Lost the session: {message.error}")))

    async def show(self, update: Update) -> None:
        """Push one update down into the widgets it concerns."""
        now = self.clock()
        groups: dict[str, tuple[list[Item], list[Item], list[Item]]] = {}
        for index, items in enumerate((update.added, update.changed, update.removed)):
            for item in items:
                groups.setdefault(item.agent_id, ([], [], []))[index].append(item)
        created: set[str] = set()
        for agent_id in [*update.agents, *groups]:
            if agent_id != ROOT_AGENT and agent_id in self.state.agents:
                if await self.agent_panel.ensure(self.state.agents[agent_id], now):
                    created.add(agent_id)
        for agent_id, (added, changed, removed) in groups.items():
            if agent_id in created:
                continue  # a new pane shows everything its agent has
            transcript = self._transcript_of(agent_id)
            if transcript is not None and transcript.is_mounted:
                await transcript.apply(added, changed, removed, now)
        for agent_id in update.agents:
            pane = self.agent_panel.panes.get(agent_id)
            if pane is not None:
                pane.refresh_header(now)
        if update.status or update.turn_finished:
            self._refresh_status()
        for request in update.approvals_opened:
            self._approval_queue.append(request)
        for request_id in update.approvals_closed:
            self._close_approval(request_id)
        self._open_next_approval()
        self.show_memories(update)
        if update.turn_finished and self.queued and not self.state.status.turn_running:
            self._send(self.queued.pop(0))

    def _transcript_of(self, agent_id: str) -> Transcript | None:
        if agent_id == ROOT_AGENT:
            return self.transcript
        pane = self.agent_panel.panes.get(agent_id)
        return pane.transcript if pane is not None else None

    def _tick(self) -> None:
        now = self.clock()
        try:
            self.transcript.tick(now)
            self.agent_panel.tick(now)
        except NoMatches:  # the timer fired while the screen was being torn down
            return

    def _refresh_status(self) -> None:
        hint = self._hint
        if not hint and self.queued:
            hint = f"{len(self.queued)} queued"
        elif not hint and self.state.status.turn_running:
            hint = "esc to cancel"
        self.status_line.show(self.state.status, branch=self.branch, window=self.options.context_window, hint=hint)

    def set_hint(self, hint: str, *, seconds: float = QUIT_WINDOW) -> None:
        self._hint = hint
        self._refresh_status()
        if hint:
            self.set_timer(seconds, lambda: self.set_hint("") if self._hint == hint else None)

    # -- ops to the session --------------------------------------------------------------------

    def submit(self, op: Op) -> None:
        self.run_worker(self.client.submit(op), group="ops", exit_on_error=False)

    def _send(self, text: str) -> None:
        self.state.status.turn_running = True  # until the session says otherwise
        self.submit(SubmitMessage(text=text))
        self._refresh_status()

    async def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        command = parse_slash(message.text)
        if command is not None:
            spec, argument = command
            await self.run_command(spec.action, argument)
            return
        note = message.text.strip()
        if note.startswith("#") and not note.startswith("##") and len(note) > 1:
            self.submit(Remember(text=note[1:].strip()))  # "# …" saves a project memory; "## …" is Markdown
            return
        if self.state.status.turn_running:
            self.queued.append(message.text)
            self._refresh_status()
            return
        self._send(message.text)

    def on_prompt_input_help_requested(self, message: PromptInput.HelpRequested) -> None:
        self.action_help()

    # -- approvals -----------------------------------------------------------------------------

    def _open_next_approval(self) -> None:
        while self._approval_screen is None and self._approval_queue:
            request = self._approval_queue.pop(0)
            if request.request_id not in self.state.pending_approvals:
                continue
            screen = ApprovalScreen(request)
            self._approval_screen = screen
            self.push_screen(screen, lambda answer, r=request: self._answered(r, answer))

    def _answered(self, request: ApprovalRequested, answer: ApprovalAnswer | None) -> None:
        self._approval_screen = None
        if answer is not None and request.request_id in self.state.pending_approvals:
            self.submit(AnswerApproval(request_id=request.request_id, decision=answer.decision, reason=answer.reason))  # type: ignore[arg-type]
        self.call_later(self._open_next_approval)

    def _close_approval(self, request_id: str) -> None:
        self._approval_queue = [r for r in self._approval_queue if r.request_id != request_id]
        screen = self._approval_screen
        if screen is not None and screen.request.request_id == request_id and screen.is_current:
            screen.dismiss(None)  # answered elsewhere: another client, a timeout, a cancel

    # -- key actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MAIN_ONLY and len(self.screen_stack) > 1:
            return False
        return True

    def action_cancel_turn(self) -> None:
        if self.state.status.turn_running:
            self.queued.clear()
            self.submit(Cancel())
            self.set_hint("cancelling…")

    def action_interrupt(self) -> None:
        now = time.monotonic()
        if now - self._last_interrupt < QUIT_WINDOW:
            self.exit(0)
            return
        self._last_interrupt = now
        if len(self.screen_stack) == 1:
            prompt = self.prompt
            if prompt.selected_text:
                self.copy_to_clipboard(prompt.selected_text)
            elif self.state.status.turn_running:
                self.action_cancel_turn()
            elif prompt.text:
                prompt.clear()
        self.set_hint("Press Ctrl+C again to quit")

    def action_cycle_mode(self) -> None:
        current = self.state.status.permission_mode
        following = MODE_CYCLE[(MODE_CYCLE.index(current) + 1) % len(MODE_CYCLE)] if current in MODE_CYCLE else "default"
        self.submit(SetPermissionMode(mode=following))  # type: ignore[arg-type]

    def action_toggle_thinking(self) -> None:
        self._thinking_expanded = not self._thinking_expanded
        for view in self.query(AssistantMessageView):
            view.toggle_thinking(self._thinking_expanded)

    def action_toggle_output(self) -> None:
        cards = [c for c in self.transcript.tool_cards() if c.item.finished]
        if cards:
            cards[-1].toggle_output()

    def action_focus_agents(self) -> None:
        headers = [pane.header for pane in self.agent_panel.panes.values()]
        if not headers:
            self.prompt.focus()
            return
        focused = self.focused
        index = next((i for i, h in enumerate(headers) if h is focused), -1)
        (headers[index + 1] if index + 1 < len(headers) else self.prompt).focus()

    def action_scroll_transcript(self, direction: int) -> None:
        transcript = self.transcript
        if direction < 0:
            transcript.scroll_page_up(animate=False)
        else:
            transcript.scroll_page_down(animate=False)

    async def on_agent_pane_closed(self, message: AgentPane.Closed) -> None:
        await self.agent_panel.close(message.agent_id)
        self.prompt.focus()

    # -- switching sessions ---------------------------------------------------------------------

    async def switch_client(self, client: SessionClient) -> None:
        """Leave the current session's stream and show `client`'s from its start."""
        if self.bridge is not None:
            self.bridge.stop()
        old = self.client
        self.client = client
        if old is not client:
            self.run_worker(old.close(), group="close", exit_on_error=False)
        self.state = self._new_state()
        self.queued.clear()
        self._approval_queue.clear()
        await self.transcript.reset([], self.clock())
        for agent_id in list(self.agent_panel.panes):
            await self.agent_panel.close(agent_id)
        self.agent_panel.closed.clear()
        self._refresh_status()
        self._start_bridge()

    def export_path(self, argument: str) -> Path:
        name = argument or f"kode-{self.state.status.session_id or self.client.session_id}.md"
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.options.cwd / path
