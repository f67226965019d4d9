"""A filterable list to pick one value from: models, modes, themes, sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kode.protocol.text import one_line


@dataclass(frozen=True, slots=True)
class PickItem:
    value: str
    label: str
    description: str = ""


class PickerScreen(ModalScreen[str | None]):
    """Type to filter, Up/Down to move, Enter to pick, Esc to cancel.

    `on_highlight` is called as the highlight moves (the theme picker previews with it);
    with `allow_custom`, Enter on a filter that matches nothing picks the typed text.
    """

    DEFAULT_CLASSES = "picker-screen"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", "Down", show=False, id="picker.down"),
        Binding("up", "move(-1)", "Up", show=False, id="picker.up"),
    ]

    def __init__(
        self,
        title: str,
        items: list[PickItem],
        *,
        current: str = "",
        on_highlight: Callable[[str], None] | None = None,
        allow_custom: bool = False,
        empty_text: str = "Nothing to pick from.",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.current = current
        self.on_highlight = on_highlight
        self.allow_custom = allow_custom
        self.empty_text = empty_text
        self._shown: list[PickItem] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog"):
            yield Static(Content.styled(self.title_text, "bold"), id="picker-title")
            yield Input(placeholder="Type to filter" + (" or enter a custom value" if self.allow_custom else ""), id="picker-filter")
            yield OptionList(id="picker-options")
            yield Static(Content.styled("Enter pick · Esc cancel", "$text-muted"), id="picker-keys")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#picker-filter", Input).focus()

    def _fill(self, query: str) -> None:
        options = self.query_one("#picker-options", OptionList)
        needle = query.lower()
        self._shown = [i for i in self.items if needle in i.value.lower() or needle in i.label.lower()]
        options.clear_options()
        if not self._shown:
            options.add_option(Option(Content.styled(self.empty_text if not query else "No match", "$text-muted"), disabled=True))
            return
        for item in self._shown:
            mark = "● " if item.value == self.current else "  "
            label = Content.assemble(mark, (one_line(item.label, 60), "bold"))
            if item.description:
                label = Content.assemble(label, ("  " + one_line(item.description, 80), "$text-muted"))
            options.add_option(Option(label))
        values = [i.value for i in self._shown]
        options.highlighted = values.index(self.current) if self.current in values and not query else 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.on_highlight is not None and 0 <= event.option_index < len(self._shown):
            self.on_highlight(self._shown[event.option_index].value)

    def action_move(self, step: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if self._shown:
            options.highlighted = ((options.highlighted or 0) + step) % len(self._shown)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#picker-options", OptionList)
        if self._shown and options.highlighted is not None:
            self.dismiss(self._shown[options.highlighted].value)
        elif self.allow_custom and event.value.strip():
            self.dismiss(event.value.strip())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._shown):
            self.dismiss(self._shown[event.option_index].value)

    def action_cancel(self) -> None:
        self.dismiss(None)
