"""The prompt: multiline input with history, slash-command and @path completion, paste chips.

Enter sends; Shift+Enter or Ctrl+J inserts a newline. Up/Down on the first/last line walk the
project's history. `/` at the start offers commands; `@` offers workspace paths, fuzzy-matched.
A large paste becomes a chip (`[Pasted text #1 +40 lines]`) expanded when the message is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from kode.tui.commands import complete_slash
from kode.tui.completion import Target, completion_target, fuzzy_paths
from kode.tui.history import PromptHistory
from kode.tui.paste import PasteStore

PLACEHOLDER = "Message kode · Enter send · Shift+Enter newline · / commands · @ files · ? help"
NEWLINE_KEYS = ("shift+enter", "ctrl+j", "alt+enter")


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    """What replaces the token being completed."""
    label: Content


class CompletionMenu(OptionList):
    DEFAULT_CLASSES = "completion-menu"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.can_focus = False
        self.choices: list[Choice] = []
        self.target: Target | None = None

    def show(self, target: Target, choices: list[Choice]) -> None:
        self.target, self.choices = target, choices
        self.clear_options()
        self.add_options([Option(choice.label) for choice in choices])
        self.highlighted = 0 if choices else None
        self.display = bool(choices)

    def hide(self) -> None:
        self.display = False
        self.target = None
        self.choices = []

    @property
    def active(self) -> bool:
        return bool(self.display and self.choices)

    def move(self, step: int) -> None:
        if self.choices:
            self.highlighted = ((self.highlighted or 0) + step) % len(self.choices)

    def current(self) -> Choice | None:
        if not self.active or self.highlighted is None:
            return None
        return self.choices[self.highlighted]


class PromptInput(TextArea):
    """The text area itself; keys it does not want bubble up to the app's bindings."""

    DEFAULT_CLASSES = "prompt-input"

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class HelpRequested(Message):
        pass

    def __init__(self, history: PromptHistory, pastes: PasteStore, **kwargs: object) -> None:
        super().__init__(
            soft_wrap=True, show_line_numbers=False, tab_behavior="focus", compact=True, highlight_cursor_line=False,
            placeholder=PLACEHOLDER, **kwargs,  # type: ignore[arg-type]
        )
        self.prompt_history = history
        self.pastes = pastes

    menu: CompletionMenu
    """Set by the PromptBar that owns this input."""

    async def _on_key(self, event: events.Key) -> None:
        if self._handle_key(event.key):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def _handle_key(self, key: str) -> bool:
        menu = self.menu
        if menu.active:
            if key == "enter" and self._completes_to_itself():
                self.submit()  # "/cost" typed in full: run it rather than re-complete it
                return True
            if key in ("tab", "enter"):
                self.accept_completion()
                return True
            if key in ("up", "down"):
                menu.move(-1 if key == "up" else 1)
                return True
            if key == "escape":
                menu.hide()
                return True
        if key == "enter":
            self.submit()
            return True
        if key in NEWLINE_KEYS:
            self.insert("\n")
            return True
        if key == "question_mark" and not self.text:
            self.post_message(self.HelpRequested())
            return True
        if key == "up" and self.cursor_location[0] == 0:
            return self._recall(self.prompt_history.previous(self.text))
        if key == "down" and self.cursor_location[0] == self.document.line_count - 1 and self.prompt_history.browsing:
            return self._recall(self.prompt_history.next())
        return False

    def _completes_to_itself(self) -> bool:
        choice, target = self.menu.current(), self.menu.target
        return bool(choice and target and target.kind == "slash" and choice.value.strip() == self.text.strip())

    def _recall(self, text: str | None) -> bool:
        if text is None:
            return True  # at the end of history: stay put rather than move the cursor
        self.load_text(text)
        self.move_cursor(self.document.end)
        self.menu.hide()
        return True

    def submit(self) -> None:
        raw = self.text
        if not raw.strip():
            return
        text = self.pastes.expand(raw)
        self.prompt_history.add(raw)
        self.clear()
        self.pastes.clear()
        self.menu.hide()
        self.post_message(self.Submitted(text))

    def accept_completion(self) -> None:
        menu = self.menu
        choice, target = menu.current(), menu.target
        menu.hide()
        if choice is None or target is None:
            return
        text = self.text
        cursor = self._offset()
        start = min(target.start, len(text))
        new_text = text[:start] + choice.value + text[cursor:]
        self.load_text(new_text)
        self.move_cursor(self._location(start + len(choice.value)))

    def _offset(self) -> int:
        row, column = self.cursor_location
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[:row]) + column

    def _location(self, offset: int) -> tuple[int, int]:
        before = self.text[:offset]
        return before.count("\n"), len(before) - (before.rfind("\n") + 1)

    async def _on_paste(self, event: events.Paste) -> None:
        if self.pastes.is_large(event.text):
            event.stop()
            event.prevent_default()
            self.insert(self.pastes.chip(event.text))
            return
        await super()._on_paste(event)


class PromptBar(Vertical):
    """The completion menu above the prompt input, and the logic that fills it."""

    DEFAULT_CLASSES = "prompt-bar"

    def __init__(
        self, history: PromptHistory, *, paths: Callable[[], list[str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.pastes = PasteStore()
        self.input = PromptInput(history, self.pastes, id="prompt")
        self.menu = CompletionMenu(id="completion")
        self.menu.display = False
        self.input.menu = self.menu
        self._paths = paths
        self._path_cache: list[str] | None = None
        self._loading = False

    def compose(self) -> ComposeResult:
        yield self.menu
        yield self.input

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area is self.input:
            self.refresh_completion()

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        if event.text_area is self.input and not self.input.text:
            self.menu.hide()

    def workspace_paths(self) -> list[str]:
        """The workspace's paths; the first call starts listing them in a thread."""
        if self._path_cache is None and not self._loading and self._paths is not None:
            self._loading = True
            self.run_worker(self._load_paths, thread=True, group="paths")
        return self._path_cache or []

    def _load_paths(self) -> None:
        assert self._paths is not None
        paths = self._paths()
        self.app.call_from_thread(self._paths_loaded, paths)

    def _paths_loaded(self, paths: list[str]) -> None:
        self._path_cache = paths
        self._loading = False
        self.refresh_completion()

    def refresh_completion(self) -> None:
        menu = self.menu
        target = completion_target(self.input.text, self.input._offset())
        if target is None:
            menu.hide()
            return
        if target.kind == "slash":
            choices = [
                Choice(f"/{c.name} " if c.argument else f"/{c.name}",
                       Content.assemble((f"/{c.name}", "bold"), f" {c.argument}" if c.argument else "", ("  " + c.help, "$text-muted")))
                for c in complete_slash(target.query)
            ]
        else:
            choices = [
                Choice(f"@{path}" + ("" if path.endswith("/") else " "), Content(f"@{path}"))
                for path in fuzzy_paths(target.query, self.workspace_paths())
            ]
        if choices:
            menu.show(target, choices)
        else:
            menu.hide()

    def focus_input(self) -> None:
        self.input.focus()
