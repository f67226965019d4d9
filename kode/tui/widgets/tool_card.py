"""A tool call as a card: name, concise arguments, live status and elapsed time, output
collapsed with an expander, and edits as coloured unified diffs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Static

from kode.protocol.text import inert, one_line
from kode.tui.state import Item, ToolItem
from kode.tui.widgets.diff import diff_content, diff_counts
from kode.tui.widgets.message import ItemView

TAIL_LINES = 6
OUTPUT_VIEW_CHARS = 60_000

STATUS_ICONS = {
    "pending": "○",
    "approval": "?",
    "running": "◐",
    "ok": "✓",
    "error": "✗",
    "denied": "⊘",
    "cancelled": "■",
}


def format_elapsed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def header_content(item: ToolItem, now: float) -> Content:
    parts: list[Content | tuple[str, str] | str] = [
        (STATUS_ICONS.get(item.status, "•") + " ", f"bold {_status_style(item.status)}"),
        (one_line(item.name, 40), "bold"),
    ]
    if item.summary:
        parts.append(("  " + one_line(item.summary, 200), "$text-muted"))
    extras: list[str] = []
    if item.diff:
        added, removed = diff_counts(item.diff)
        extras.append(f"+{added} -{removed}")
    code = item.exit_code
    if code:
        extras.append(f"exit {code}")
    if item.status == "approval":
        extras.append("waiting for approval")
    elif item.status in ("denied", "cancelled"):
        extras.append(item.status)
    elapsed = format_elapsed(item.elapsed(now))
    if elapsed and item.status in ("running", "ok", "error"):
        extras.append(elapsed)
    if extras:
        parts.append(("  " + " · ".join(extras), "$text-muted"))
    return Content.assemble(*parts)


def _status_style(status: str) -> str:
    return {
        "ok": "$text-success",
        "error": "$text-error",
        "denied": "$text-warning",
        "cancelled": "$text-warning",
        "approval": "$text-warning",
        "running": "$text-primary",
    }.get(status, "$text-muted")


def output_content(text: str) -> Content:
    clean = inert(text)
    if len(clean) > OUTPUT_VIEW_CHARS:
        clean = f"… {len(clean) - OUTPUT_VIEW_CHARS} earlier characters not shown\n" + clean[-OUTPUT_VIEW_CHARS:]
    return Content(clean.rstrip("\n"))


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


class ToolCard(ItemView, Vertical):
    DEFAULT_CLASSES = "tool-card"

    def __init__(self, item: ToolItem, *, now: float = 0.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.item_key = item.key
        self._item = item
        self._live = False
        self._header = Static(header_content(item, now), classes="tool-header")
        self._tail = Static("", classes="tool-tail")
        self._diff: Static | None = None
        self._output: Collapsible | None = None
        self._output_body: Static | None = None
        self._decision = Static("", classes="tool-decision")

    def compose(self) -> ComposeResult:
        yield self._header
        yield self._tail
        yield self._decision

    async def on_mount(self) -> None:
        self._live = True
        await self.update_item(self._item, 0.0)

    @property
    def item(self) -> ToolItem:
        return self._item

    def tick(self, now: float) -> None:
        if self._item.status == "running":
            self._header.update(header_content(self._item, now))

    async def update_item(self, item: Item, now: float) -> None:
        if not isinstance(item, ToolItem) or not self._live:
            return
        self._item = item
        for status in STATUS_ICONS:
            self.set_class(item.status == status, f"-{status}")
        self._header.update(header_content(item, now))
        running = not item.finished
        self._tail.display = running and bool(item.output)
        if running and item.output:
            self._tail.update(Content(inert(tail(item.output))))
        denied = item.status == "denied" or item.decision.startswith("deny")
        self._decision.display = denied
        if denied:
            self._decision.update(Content(one_line(item.output or item.decision, 300)))
        if item.diff and self._diff is None:
            self._diff = Static(diff_content(item.diff), classes="tool-diff")
            await self.mount(self._diff, before=self._decision)
        if item.finished and item.status != "denied" and not item.diff and item.output:
            await self._show_output(item)

    async def _show_output(self, item: ToolItem) -> None:
        lines = item.output.count("\n") + 1
        title = f"Output · {lines} line{'s' if lines != 1 else ''}"
        if self._output is None or self._output_body is None:
            self._output_body = Static(output_content(item.output), classes="tool-output")
            expand = item.status == "error" and lines <= 12  # a short error is worth seeing at once
            self._output = Collapsible(self._output_body, title=title, collapsed=not expand, classes="tool-output-box")
            await self.mount(self._output, before=self._decision)
        else:
            self._output_body.update(output_content(item.output))
            self._output.title = title

    def toggle_output(self) -> None:
        if self._output is not None:
            self._output.collapsed = not self._output.collapsed
