"""Views of conversation items: user and assistant messages, notices, sub-agent cards.

Each view is created from a state item and updated in place by `update_item`; nothing re-renders
the transcript. Untrusted text is always made inert and never parsed as markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Markdown, Static
from textual.widgets._markdown import MarkdownStream

from kode.tui.sanitize import inert, one_line
from kode.tui.state import AssistantItem, Item, NoticeItem, SubagentItem, UserItem


class ItemView:
    """Mixin: a widget that shows one state item and can be updated from it."""

    item_key: str = ""

    async def update_item(self, item: Item, now: float) -> None:  # pragma: no cover - overridden
        return None


class UserMessageView(ItemView, Static):
    DEFAULT_CLASSES = "user-message"

    def __init__(self, item: UserItem, **kwargs: object) -> None:
        super().__init__(self._content(item), **kwargs)  # type: ignore[arg-type]
        self.item_key = item.key

    @staticmethod
    def _content(item: UserItem) -> Content:
        return Content.assemble(("› ", "bold $primary"), inert(item.text))

    async def update_item(self, item: Item, now: float) -> None:
        if isinstance(item, UserItem):
            self.update(self._content(item))


class ThinkingView(Collapsible):
    DEFAULT_CLASSES = "thinking"

    def __init__(self, text: str) -> None:
        self._body = Static(Content(inert(text)), classes="thinking-text")
        super().__init__(self._body, title="Thinking", collapsed=True)

    def set_text(self, text: str, *, streaming: bool) -> None:
        self._body.update(Content(inert(text)))
        self.title = "Thinking…" if streaming else "Thinking"


class AssistantMessageView(ItemView, Vertical):
    """Markdown rendered as it streams: fragments go through a MarkdownStream, which merges
    bursts when rendering falls behind; the completed message replaces them if it differs."""

    DEFAULT_CLASSES = "assistant-message"

    def __init__(self, item: AssistantItem, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.item_key = item.key
        self._item = item
        self._shown = ""
        self._stream: MarkdownStream | None = None
        self._thinking: ThinkingView | None = None
        self._markdown = Markdown("", open_links=False, classes="assistant-markdown")

    def compose(self) -> ComposeResult:
        if self._item.thinking:
            self._thinking = ThinkingView(self._item.thinking)
            yield self._thinking
        yield self._markdown

    async def on_mount(self) -> None:
        await self.update_item(self._item, 0.0)

    async def update_item(self, item: Item, now: float) -> None:
        if not isinstance(item, AssistantItem) or not self.is_mounted:
            return
        self._item = item
        self.set_class(item.streaming, "-streaming")
        if item.thinking:
            if self._thinking is None:
                self._thinking = ThinkingView(item.thinking)
                await self.mount(self._thinking, before=self._markdown)
            self._thinking.set_text(item.thinking, streaming=item.streaming)
        text = inert(item.text)
        if item.streaming and text.startswith(self._shown):
            fragment = text[len(self._shown) :]
            if fragment:
                if self._stream is None:
                    self._stream = Markdown.get_stream(self._markdown)
                await self._stream.write(fragment)
                self._shown = text
            return
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if text != self._shown:
            await self._markdown.update(text)
            self._shown = text

    def toggle_thinking(self, expanded: bool) -> None:
        if self._thinking is not None:
            self._thinking.collapsed = not expanded


_NOTICE_ICONS = {"info": "ℹ", "warning": "⚠", "error": "✗"}


class NoticeView(ItemView, Static):
    DEFAULT_CLASSES = "notice"

    def __init__(self, item: NoticeItem, **kwargs: object) -> None:
        super().__init__(self._content(item), **kwargs)  # type: ignore[arg-type]
        self.item_key = item.key
        self.add_class(f"-{item.level}")

    @staticmethod
    def _content(item: NoticeItem) -> Content:
        body = Content.assemble((_NOTICE_ICONS[item.level] + " ", "bold"), inert(item.text))
        if item.hint:
            body = Content.assemble(body, ("\n  " + inert(item.hint), "$text-muted"))
        return body

    async def update_item(self, item: Item, now: float) -> None:
        if isinstance(item, NoticeItem):
            self.update(self._content(item))


class SubagentCardView(ItemView, Static):
    DEFAULT_CLASSES = "subagent-card"

    def __init__(self, item: SubagentItem, **kwargs: object) -> None:
        super().__init__(self._content(item), **kwargs)  # type: ignore[arg-type]
        self.item_key = item.key

    @staticmethod
    def _content(item: SubagentItem) -> Content:
        icon = {"running": "◐", "completed": "✓"}.get(item.status, "✗")
        parts: list[Content | tuple[str, str] | str] = [
            (f"{icon} ", "bold $secondary"),
            (f"{one_line(item.agent_type or 'agent', 30)} ", "bold"),
            one_line(item.goal, 100),
            (f"  {item.status}", "$text-muted"),
        ]
        if item.result:
            parts.append(("\n  " + one_line(item.result, 160), "$text-muted"))
        return Content.assemble(*parts)

    async def update_item(self, item: Item, now: float) -> None:
        if isinstance(item, SubagentItem):
            self.update(self._content(item))


def is_item_view(widget: Widget) -> bool:
    return isinstance(widget, ItemView)
