"""The /memory dialog: the long-term memories this project sees, to read, edit, delete and add.

Keyboard only. Up/Down move · e or Enter edit (Enter or Ctrl+S saves, Esc cancels) · d asks,
then y deletes (any other key keeps it) · n adds a project memory · Esc closes.

The dialog changes nothing itself: it hands `update_memory`, `forget_memory` and `remember` ops to
`submit`, and the app gives it each list a `memories` event brings (`show`) and the notices that
arrive while it is open (`note`), such as "Memory updated" or an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kode.protocol.events import MemoryItem
from kode.protocol.ops import ForgetMemory, Op, Remember, UpdateMemory
from kode.protocol.text import one_line

MAX_TEXT = 2000
"""As the remember op allows."""

Mode = Literal["list", "edit", "new"]
LIST_KEYS = "↑↓ move · e/Enter edit · d delete · n new · Esc close"
EDIT_KEYS = "Enter or Ctrl+S save · Esc cancel"
LEVEL_STYLE = {"error": "$text-error", "warning": "$text-warning"}


class MemoryScreen(ModalScreen[None]):
    DEFAULT_CLASSES = "memory-screen"
    BINDINGS = [
        Binding("escape", "back", "Close", id="memory.close"),
        Binding("e", "edit", "Edit", id="memory.edit"),
        Binding("d,delete", "forget", "Delete", id="memory.delete"),
        Binding("n", "new", "New", id="memory.new"),
        Binding("ctrl+s", "save", "Save", id="memory.save"),
    ]

    def __init__(self, submit: Callable[[Op], None]) -> None:
        super().__init__()
        self.submit = submit
        self.memories: list[MemoryItem] | None = None
        """None until the first list arrives."""
        self.mode: Mode = "list"
        self.confirming: MemoryItem | None = None
        """The memory whose deletion waits for its confirming key."""
        self._editing: MemoryItem | None = None
        self._adding = False
        """A new memory was sent: highlight it when the list brings it."""
        self._early: list[MemoryItem] | None = None
        """A list that came before the dialog was mounted."""

    def compose(self) -> ComposeResult:
        with Vertical(id="memory-dialog"):
            yield Static(
                Content.assemble(("Memories", "bold"), ("  this project's and yours (user)", "$text-muted")),
                id="memory-title",
            )
            yield OptionList(Option(Content.styled("Loading…", "$text-muted"), disabled=True), id="memory-options")
            placeholder = "What to remember, in a sentence or two"
            editor = Input(placeholder=placeholder, max_length=MAX_TEXT, id="memory-editor")
            editor.display = False
            yield editor
            yield Static("", id="memory-status")
            yield Static(Content.styled(LIST_KEYS, "$text-muted"), id="memory-keys")

    def on_mount(self) -> None:
        self.query_one("#memory-options", OptionList).focus()
        if self._early is not None:
            self.show(self._early)

    # -- from the app --------------------------------------------------------------------------

    def show(self, memories: list[MemoryItem]) -> None:
        """Show this list, keeping the highlight on the same memory (or on a just-added one)."""
        if not self.is_mounted:
            self._early = list(memories)
            return
        options = self.query_one("#memory-options", OptionList)
        before = self.memories or []
        current = self.selected()
        self.memories = list(memories)
        options.clear_options()
        if not memories:
            empty = "No memories yet: n adds one (so does a prompt starting with #)."
            options.add_option(Option(Content.styled(empty, "$text-muted"), disabled=True))
            return
        for memory in memories:
            options.add_option(Option(_label(memory)))
        ids = [m.id for m in memories]
        new = [i for i in ids if i not in {m.id for m in before}]
        if self._adding and new:
            self._adding = False
            options.highlighted = ids.index(max(new))
        elif current is not None and current.id in ids:
            options.highlighted = ids.index(current.id)
        else:
            index = before.index(current) if current in before else 0
            options.highlighted = min(index, len(ids) - 1)

    def note(self, level: str, text: str) -> None:
        """A notice from the session (a change went through, or an error)."""
        self._status(one_line(text, 200), level)

    # -- keys ----------------------------------------------------------------------------------

    def selected(self) -> MemoryItem | None:
        highlighted = self.query_one("#memory-options", OptionList).highlighted
        if not self.memories or highlighted is None or not 0 <= highlighted < len(self.memories):
            return None
        return self.memories[highlighted]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "forget", "new"):
            return self.mode == "list"
        if action == "save":
            return self.mode != "list"
        return True

    def on_key(self, event: events.Key) -> None:
        """The key after `d`: y deletes, anything else keeps the memory."""
        memory = self.confirming
        if memory is None:
            return
        event.stop()
        event.prevent_default()
        self.confirming = None
        if event.key == "y":
            self.submit(ForgetMemory(id=memory.id))
            self._status(f"Deleting #{memory.id}…")
        else:
            self._status(f"Kept #{memory.id}.")

    def action_edit(self) -> None:
        memory = self.selected()
        if memory is not None:
            self._editing = memory
            self._open_editor("edit", memory.text, f"Editing #{memory.id} ({memory.scope})")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.mode == "list":
            self.action_edit()

    def action_new(self) -> None:
        self._open_editor("new", "", "A new memory for this project")

    def action_forget(self) -> None:
        memory = self.selected()
        if memory is not None:
            self.confirming = memory
            question = f"Delete #{memory.id} “{one_line(memory.text, 60)}”? y deletes it · any other key keeps it"
            self._status(question, "warning")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        text = self.query_one("#memory-editor", Input).value.strip()
        if not text:
            self._status("A memory needs some text (d deletes one).", "warning")
            return
        if self.mode == "new":
            self._adding = True
            self.submit(Remember(text=text))
            self._status("Saving…")
        elif self._editing is not None and text != self._editing.text:
            self.submit(UpdateMemory(id=self._editing.id, text=text))
            self._status(f"Saving #{self._editing.id}…")
        else:
            self._status("Unchanged.")
        self._close_editor()

    def action_back(self) -> None:
        if self.mode == "list":
            self.dismiss(None)
            return
        self._close_editor()
        self._status("Cancelled.")

    # -- helpers -------------------------------------------------------------------------------

    def _open_editor(self, mode: Mode, text: str, status: str) -> None:
        self.mode = mode
        editor = self.query_one("#memory-editor", Input)
        editor.value = text
        editor.display = True
        editor.cursor_position = len(text)
        editor.focus()
        self._status(status)
        self.query_one("#memory-keys", Static).update(Content.styled(EDIT_KEYS, "$text-muted"))

    def _close_editor(self) -> None:
        self.mode = "list"
        self._editing = None
        editor = self.query_one("#memory-editor", Input)
        editor.display = False
        editor.value = ""
        self.query_one("#memory-options", OptionList).focus()
        self.query_one("#memory-keys", Static).update(Content.styled(LIST_KEYS, "$text-muted"))

    def _status(self, text: str, level: str = "info") -> None:
        self.query_one("#memory-status", Static).update(Content.styled(text, LEVEL_STYLE.get(level, "$text-muted")))


def _label(memory: MemoryItem) -> Content:
    return Content.assemble(
        (f"#{memory.id}".ljust(6), "bold"),
        (memory.scope.ljust(9), "$text-accent" if memory.scope == "user" else "$text-muted"),
        one_line(memory.text, 400),
    )
