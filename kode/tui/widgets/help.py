"""The help screen: every key binding and every slash command."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from kode.tui.commands import SLASH_COMMANDS


@dataclass(frozen=True, slots=True)
class KeyHelp:
    keys: str
    help: str


PROMPT_KEYS = (
    KeyHelp("enter", "Send the message (or accept the highlighted completion)"),
    KeyHelp("shift+enter, ctrl+j", "New line"),
    KeyHelp("up / down", "Previous / next prompt from this project's history"),
    KeyHelp("/", "Slash commands (at the start of the prompt)"),
    KeyHelp("@", "Attach a workspace file, fuzzy-matched"),
    KeyHelp("tab", "Accept the highlighted completion"),
    KeyHelp("?", "This help (when the prompt is empty)"),
)

DIALOG_KEYS = (
    KeyHelp("1 / y", "Approval: allow once"),
    KeyHelp("2 / a", "Approval: allow for this session (adds the rule shown)"),
    KeyHelp("3 / n", "Approval: deny, then type a reason for the model (Enter)"),
    KeyHelp("escape", "Approval: deny · pickers, help and memories: close"),
    KeyHelp("e / d / n", "/memory dialog: edit, delete (then y), new"),
    KeyHelp("c / enter / space", "Sub-agent pane header: collapse or expand"),
    KeyHelp("x / delete", "Sub-agent pane header: close the pane"),
    KeyHelp("home", "Transcript: show earlier items"),
)


def _table(rows: list[tuple[str, str]]) -> Content:
    width = max((len(key) for key, _ in rows), default=0) + 2
    return Content("\n").join(
        Content.assemble((key.ljust(width), "bold $text-accent"), text) for key, text in rows
    )


class HelpScreen(ModalScreen[None]):
    DEFAULT_CLASSES = "help-screen"
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close", id="help.close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Content.styled("kode — keys and commands", "bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(Content.styled("Anywhere", "bold $text-primary"), classes="help-heading")
                yield Static(_table(self.bindings))
                yield Static(Content.styled("In the prompt", "bold $text-primary"), classes="help-heading")
                yield Static(_table([(k.keys, k.help) for k in PROMPT_KEYS]))
                yield Static(Content.styled("In dialogs and panes", "bold $text-primary"), classes="help-heading")
                yield Static(_table([(k.keys, k.help) for k in DIALOG_KEYS]))
                yield Static(Content.styled("Slash commands", "bold $text-primary"), classes="help-heading")
                yield Static(_table([(f"/{c.name} {c.argument}".rstrip(), c.help) for c in SLASH_COMMANDS]))
            yield Static(Content.styled("Esc to close", "$text-muted"), id="help-footer")

    def action_close(self) -> None:
        self.dismiss(None)
