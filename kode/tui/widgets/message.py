"""Views of conversation items: user and assistant messages, notices, sub-agent cards.

Each view is created from a state item and updated in place by `update_item`; nothing re-renders
the transcript. Untrusted text is always made inert and never parsed as markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from kode.protocol.text import inert, one_line
from kode.tui.state import AssistantItem, Item, NoticeItem, SubagentItem, UserItem


def warm_imports() -> None:
    """Import Rich's Markdown (markdown-it compiles large regexes, pygments loads lexers)
    off the first paint."""
    from rich.markdown import Markdown
    from rich.syntax import Syntax

    Syntax("x = 1", "python")
    Markdown("# warm")


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
    """Markdown rendered as it streams, cheaply.

    The text is split at the last complete block (a blank line outside a code fence): complete
    blocks are rendered once into "frozen" chunks, and only the block still being written is
    re-rendered per update. Each chunk is one Static holding a Rich Markdown renderable, so a
    long answer is a handful of widgets, not hundreds (Textual's Markdown widget makes one per
    block, and laying those out on every token burst costs frames and typing latency).
    """

    DEFAULT_CLASSES = "assistant-message"

    def __init__(self, item: AssistantItem, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.item_key = item.key
        self._item = item
        self._live = False
        self._thinking: ThinkingView | None = None
        self._chunks: list[Static] = []
        self._chunk_sources: list[str] = []
        self._frozen = 0
        """Characters of the text already rendered into frozen chunks."""
        self._fence = False
        """Whether the frozen text ends inside a code fence."""
        self._tail = Static("", classes="assistant-tail")

    def compose(self) -> ComposeResult:
        if self._item.thinking:
            self._thinking = ThinkingView(self._item.thinking)
            yield self._thinking
        yield self._tail

    async def on_mount(self) -> None:
        self._live = True
        await self.update_item(self._item, 0.0)

    @property
    def text(self) -> str:
        return "".join(self._chunk_sources) + self._tail_source

    _tail_source = ""

    async def update_item(self, item: Item, now: float) -> None:
        if not isinstance(item, AssistantItem) or not self._live:
            return
        self._item = item
        self.set_class(item.streaming, "-streaming")
        if item.thinking:
            if self._thinking is None:
                self._thinking = ThinkingView(item.thinking)
                await self.mount(self._thinking, before=0)
            self._thinking.set_text(item.thinking, streaming=item.streaming)
        text = inert(item.text)
        frozen_text = "".join(self._chunk_sources)
        if not text.startswith(frozen_text):
            await self._reset()
        end, fence = (len(text), False) if not item.streaming else stable_prefix(text, self._frozen, self._fence)
        if end > self._frozen:
            await self._freeze(text[self._frozen : end])
            self._frozen, self._fence = end, fence
        tail = text[self._frozen :]
        if tail != self._tail_source:
            self._tail_source = tail
            self._tail.update(markdown_renderable(tail, self.app.current_theme.dark) if tail else "")
        self._tail.display = bool(tail)

    async def _reset(self) -> None:
        if self._chunks:
            await self.remove_children(self._chunks)
        self._chunks, self._chunk_sources = [], []
        self._frozen, self._fence, self._tail_source = 0, False, ""

    async def _freeze(self, source: str) -> None:
        dark = self.app.current_theme.dark
        if self._chunks and len(self._chunk_sources[-1]) + len(source) <= CHUNK_CHARS:
            self._chunk_sources[-1] += source
            self._chunks[-1].update(markdown_renderable(self._chunk_sources[-1], dark))
            return
        chunk = Static(markdown_renderable(source, dark), classes="assistant-markdown")
        self._chunks.append(chunk)
        self._chunk_sources.append(source)
        await self.mount(chunk, before=self._tail)

    def toggle_thinking(self, expanded: bool) -> None:
        if self._thinking is not None:
            self._thinking.collapsed = not expanded


CHUNK_CHARS = 600
"""A frozen chunk is re-rendered whenever a block joins it, so chunks are kept small."""


def stable_prefix(text: str, start: int, in_fence: bool) -> tuple[int, bool]:
    """The end of the last complete Markdown block at or after `start`, and the fence state
    there: a block ends at a blank line outside a code fence, or at a fence's closing line."""
    end, fence = start, in_fence
    position = start
    while True:
        newline = text.find("\n", position)
        if newline < 0:
            return end, fence
        line = text[position:newline]
        position = newline + 1
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            if not in_fence:
                end, fence = position, False
        elif not in_fence and not line.strip():
            end, fence = position, False


def markdown_renderable(source: str, dark: bool):  # type: ignore[no-untyped-def]
    """Rich Markdown for untrusted, already-inert text: no console markup is parsed, links are
    shown with their address instead of as terminal hyperlinks."""
    from rich.markdown import Markdown as RichMarkdown

    return RichMarkdown(source, code_theme="monokai" if dark else "friendly", hyperlinks=False)


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
