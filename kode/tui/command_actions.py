"""The app's commands: slash commands, pickers and the command palette's entries.

A mixin of `KodeApp` so each command is an `action_*` (reachable from a binding, the palette or
a slash command alike) while app.py stays about wiring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.screen import Screen

from kode.config.agents import AgentTypes, load_agent_types
from kode.config.paths import agents_dir, home_dir
from kode.protocol.common import ROOT_AGENT
from kode.protocol.ops import ApplyChanges, BestOf, Compact, ListMemories, SetModel, SetPermissionMode
from kode.protocol.text import one_line
from kode.tui.actions import NotSupported
from kode.tui.commands import INIT_PROMPT, SLASH_COMMANDS
from kode.tui.export import conversation_markdown
from kode.tui.state import NoticeItem, Update
from kode.tui.widgets.help import HelpScreen
from kode.tui.widgets.memories import MemoryScreen
from kode.tui.widgets.pickers import PickerScreen, PickItem
from kode.tui.widgets.status_line import human_tokens

if TYPE_CHECKING:
    from kode.tui.app import KodeApp

PERMISSION_MODES = {
    "default": "Ask before edits and commands",
    "accept-edits": "Apply file edits without asking; still ask for commands",
    "plan": "Read-only: look and plan, change nothing",
    "bypass": "Never ask (use with care)",
}

_Base: Any = object


class CommandActions(_Base):
    """Mixed into KodeApp; `self` is the app."""

    async def run_command(self: KodeApp, action: str, argument: str = "") -> None:
        method = getattr(self, f"action_{action}")
        result = method(argument) if action not in ("help", "quit") else method()
        if hasattr(result, "__await__"):
            await result

    def get_system_commands(self: KodeApp, screen: Screen[Any]) -> Iterable[SystemCommand]:  # type: ignore[override]
        for command in SLASH_COMMANDS:
            yield SystemCommand(f"/{command.name}", command.help, self._palette_callback(command.action))
        yield SystemCommand("Cycle permission mode", "default → accept-edits → plan (Shift+Tab)", self.action_cycle_mode)
        yield SystemCommand("Cancel the running turn", "Esc", self.action_cancel_turn)
        yield SystemCommand("Show/hide thinking", "Ctrl+T", self.action_toggle_thinking)
        yield SystemCommand("Expand/collapse the latest tool output", "Ctrl+O", self.action_toggle_output)
        yield SystemCommand("Focus the next sub-agent pane", "F2", self.action_focus_agents)
        yield SystemCommand("Reopen closed sub-agent panes", "Bring back panes closed with x", self.action_reopen_agents)
        yield from super().get_system_commands(screen)  # type: ignore[misc]

    def _palette_callback(self: KodeApp, action: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            await self.run_command(action)

        return run

    def binding_help(self: KodeApp) -> list[tuple[str, str]]:
        rows = [(binding.key.replace(",", ", "), binding.description) for binding in self.BINDINGS]  # type: ignore[union-attr]
        rows.append(("ctrl+p", "Command palette: every command"))
        rows.append(("ctrl+q", "Quit at once"))
        return rows

    # -- commands ------------------------------------------------------------------------------

    def action_help(self: KodeApp) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.binding_help()))

    async def _notice(self: KodeApp, level: str, text: str, hint: str = "") -> None:
        await self.show(self.state.add_notice(ROOT_AGENT, level, text, hint))  # type: ignore[arg-type]

    async def action_new_session(self: KodeApp, argument: str = "") -> None:
        try:
            client = await self.actions.new_session()
        except NotSupported as exc:
            await self._notice("warning", str(exc))
            return
        await self.switch_client(client)

    async def action_clear_session(self: KodeApp, argument: str = "") -> None:
        await self.action_new_session(argument)

    async def action_resume(self: KodeApp, argument: str = "") -> None:
        try:
            sessions = await self.actions.list_sessions()
        except NotSupported as exc:
            await self._notice("warning", str(exc))
            return
        items = [
            PickItem(s.session_id, s.title or s.session_id, s.updated.strftime("%Y-%m-%d %H:%M") if s.updated else "")
            for s in sessions
            if s.session_id != self.client.session_id  # the one on screen is not "earlier"
        ]

        async def picked(session_id: str | None) -> None:
            if not session_id:
                return
            try:
                client = await self.actions.resume(session_id)
            except NotSupported as exc:
                await self._notice("warning", str(exc))
                return
            await self.switch_client(client)

        if argument:
            await picked(argument)
            return
        self.push_screen(PickerScreen("Resume a session", items, empty_text="No earlier sessions in this project."), picked)

    def action_pick_model(self: KodeApp, argument: str = "") -> None:
        if argument:
            self.submit(SetModel(model=argument))
            return
        current = self.state.status.model
        models = list(dict.fromkeys([current, *self.options.models])) if current else list(self.options.models)
        items = [PickItem(m, m, "current" if m == current else "") for m in models]

        def picked(model: str | None) -> None:
            if model and model != current:
                self.submit(SetModel(model=model))

        self.push_screen(PickerScreen("Model", items, current=current, allow_custom=True), picked)

    async def action_pick_mode(self: KodeApp, argument: str = "") -> None:
        if argument:
            if argument not in PERMISSION_MODES:
                await self._notice("error", f"Unknown mode {argument!r}: use one of {', '.join(PERMISSION_MODES)}.")
                return
            self.submit(SetPermissionMode(mode=argument))  # type: ignore[arg-type]
            return
        items = [PickItem(name, name, text) for name, text in PERMISSION_MODES.items()]

        def picked(mode: str | None) -> None:
            if mode:
                self.submit(SetPermissionMode(mode=mode))  # type: ignore[arg-type]

        self.push_screen(PickerScreen("Permission mode", items, current=self.state.status.permission_mode), picked)

    async def action_pick_theme(self: KodeApp, argument: str = "") -> None:
        if argument:
            if argument not in self.available_themes:
                await self._notice("error", f"No theme named {argument!r}.")
                return
            self.choose_theme(argument)
            return
        original = self.theme
        names = list(dict.fromkeys([*self.kode_themes, *sorted(self.available_themes)]))
        items = [PickItem(name, name, "dark" if self.available_themes[name].dark else "light") for name in names]

        def preview(name: str) -> None:
            self.theme = name

        def picked(name: str | None) -> None:
            if name:
                self.choose_theme(name)
            else:
                self.theme = original

        self.push_screen(PickerScreen("Theme (previewed as you move)", items, current=original, on_highlight=preview), picked)

    def choose_theme(self: KodeApp, name: str) -> None:
        self.theme = name
        self.prefs.theme = name
        self.prefs.save(self.options.prefs_path)

    async def action_cost(self: KodeApp, argument: str = "") -> None:
        lines = []
        for agent in self.state.agents.values():
            usage = agent.usage
            label = "main" if agent.agent_id == ROOT_AGENT else f"{agent.agent_type or 'agent'} {agent.agent_id}"
            lines.append(
                f"{label}: {human_tokens(usage.input_tokens)} in · {human_tokens(usage.output_tokens)} out · "
                f"{human_tokens(usage.cache_read_tokens)} cached · ${usage.cost_usd:.4f}"
            )
        for model, usage in sorted(self.state.status.by_model.items()):
            lines.append(
                f"model {model}: {human_tokens(usage.input_tokens + usage.output_tokens)} tokens · ${usage.cost_usd:.4f}"
            )
        total = self.state.status.usage
        lines.append(f"total: {human_tokens(total.input_tokens + total.output_tokens)} tokens · ${total.cost_usd:.4f}")
        await self._notice("info", "\n".join(lines))

    async def action_memory(self: KodeApp, argument: str = "") -> None:
        if self.memory_screen() is None:
            self.push_screen(MemoryScreen(self.submit))
        self.submit(ListMemories())

    def memory_screen(self: KodeApp) -> MemoryScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, MemoryScreen)), None)

    def show_memories(self: KodeApp, update: Update) -> None:
        """Keep an open /memory dialog current: its list, what happened meanwhile, and a fresh
        list whenever a memory changed (from the dialog, the model's remember, another client)
        or an error came (a refused change means the list shown is out of date)."""
        screen = self.memory_screen()
        if screen is None:
            return
        if update.memories is not None:
            screen.show(update.memories)
        stale = update.memories_changed
        for item in update.added:
            if isinstance(item, NoticeItem) and item.agent_id == ROOT_AGENT:
                screen.note(item.level, item.text)
                stale = stale or item.level == "error"
        if stale:
            self.submit(ListMemories())

    async def action_compact(self: KodeApp, argument: str = "") -> None:
        self.submit(Compact(focus=argument.strip()))

    async def action_init(self: KodeApp, argument: str = "") -> None:
        self._send(INIT_PROMPT)

    async def action_best_of(self: KodeApp, argument: str = "") -> None:
        count, _, task = argument.strip().partition(" ")
        if not count.isdigit() or not 2 <= int(count) <= 8 or not task.strip():
            await self._notice("warning", "usage: /best-of N TASK, with N from 2 to 8", "e.g. /best-of 3 make the failing test pass")
            return
        self.submit(BestOf(task=task.strip(), n=int(count)))

    async def action_apply_changes(self: KodeApp, argument: str = "") -> None:
        if not argument.strip():
            await self._notice("warning", "usage: /apply ID, with the id of a finished sub-agent (see /best-of's ranking)")
            return
        self.submit(ApplyChanges(child_id=argument.strip()))

    async def action_agents(self: KodeApp, argument: str = "") -> None:
        cwd = self.options.cwd
        types = await asyncio.to_thread(load_agent_types, cwd)
        hint = (
            "The model delegates to these with the task tool. Add your own as .md files in .kode/agents/ "
            f"(this project) or {_source(str(agents_dir()), cwd)}/ (yours); see docs/subagents.md."
        )
        await self._notice("info", agent_types_text(types, cwd), hint)
        if types.problems:
            count = len(types.problems)
            text = f"{count} agent file{'s' if count != 1 else ''} skipped:\n" + "\n".join(f"  {line}" for line in types.problems)
            await self._notice("warning", text)

    async def action_export(self: KodeApp, argument: str = "") -> None:
        path = self.export_path(argument)
        try:
            written = await self.actions.export(self.client.session_id, path)
        except NotSupported:
            try:
                path.write_text(conversation_markdown(self.state), encoding="utf-8")
            except OSError as exc:
                await self._notice("error", f"Could not export: {exc}")
                return
            written = path
        await self._notice("info", f"Exported the conversation to {written}")

    def action_reopen_agents(self: KodeApp) -> None:
        panel = self.agent_panel
        for agent_id in panel.reopen_all():
            agent = self.state.agents.get(agent_id)
            if agent is not None:
                self.run_worker(panel.ensure(agent, self.clock()))

    async def action_quit(self: KodeApp) -> None:
        self.exit(0)


def agent_types_text(types: AgentTypes, cwd: Path) -> str:
    """/agents: each type's name and description, then its tools, model and source."""
    lines = [f"Agent types ({len(types)}):"]
    for agent in types:
        tools = ", ".join(agent.tools) if agent.tools else ("none" if agent.tools == () else "all")
        lines.append(f"{agent.name} — {one_line(agent.description, 300)}")
        lines.append(f"  tools: {tools} · model: {agent.model or 'the session’s'} · {_source(agent.source, cwd)}")
    return "\n".join(lines)


def _source(source: str, cwd: Path) -> str:
    """A file source relative to `cwd` when inside it, with the home folder as ~; else as is."""
    path = Path(source)
    if not path.is_absolute():
        return source
    for base, prefix in ((cwd, ""), (home_dir(), "~/")):
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return source
