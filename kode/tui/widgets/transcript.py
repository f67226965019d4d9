"""One agent's conversation as a scrolling column of item views, windowed.

Only the newest `window` items are mounted; older ones stay in the state and come back on demand
("show earlier"), so a long session costs the same to update and lay out as a short one. Views
are found by item key and updated in place.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from kode.tui.state import (
    AssistantItem,
    Item,
    NoticeItem,
    SubagentItem,
    ToolItem,
    UserItem,
)
from kode.tui.widgets.message import (
    AssistantMessageView,
    ItemView,
    NoticeView,
    SubagentCardView,
    UserMessageView,
)
from kode.tui.widgets.tool_card import ToolCard

DEFAULT_WINDOW = 150


def make_view(item: Item, now: float) -> Widget:
    if isinstance(item, UserItem):
        return UserMessageView(item)
    if isinstance(item, AssistantItem):
        return AssistantMessageView(item)
    if isinstance(item, ToolItem):
        return ToolCard(item, now=now)
    if isinstance(item, NoticeItem):
        return NoticeView(item)
    if isinstance(item, SubagentItem):
        return SubagentCardView(item)
    raise TypeError(f"no view for {type(item).__name__}")


class EarlierMarker(Static):
    """Stands for the items above the window; clicking it (or Home) mounts more of them."""

    DEFAULT_CLASSES = "earlier"

    class Pressed(Message):
        pass

    def on_click(self) -> None:
        self.post_message(self.Pressed())


class Transcript(VerticalScroll):
    DEFAULT_CLASSES = "transcript"
    BINDINGS = [("home", "show_earlier", "Show earlier")]

    def __init__(self, *, window: int = DEFAULT_WINDOW, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.window = window
        self.views: dict[str, Widget] = {}
        self._items: list[Item] = []
        self._marker = EarlierMarker("", id="earlier")
        self._marker.display = False
        self._first_shown = 0

    def on_mount(self) -> None:
        self.mount(self._marker)

    def follow(self) -> None:
        """Stick to the bottom once the content overflows (Textual's anchor would bottom-align
        a short transcript; until then it starts at the top like a document)."""
        if not self.is_anchored and self.max_scroll_y > 0:
            self.anchor()
        elif self.is_anchored and self.max_scroll_y <= 0:
            self.anchor(False)

    def on_resize(self) -> None:
        self.call_after_refresh(self.follow)

    def view(self, key: str) -> Widget | None:
        return self.views.get(key)

    @property
    def hidden_count(self) -> int:
        return self._first_shown

    async def reset(self, items: list[Item], now: float) -> None:
        """Show `items` (the newest `window` of them), replacing whatever was shown."""
        await self.remove_children([w for w in self.children if w is not self._marker])
        self.views.clear()
        self._items = list(items)
        self._first_shown = max(0, len(self._items) - self.window)
        views = [self._new_view(item, now) for item in self._items[self._first_shown :]]
        if views:
            await self.mount_all(views)
        self._update_marker()
        self.call_after_refresh(self.follow)

    async def apply(self, added: list[Item], changed: list[Item], removed: list[Item], now: float) -> None:
        for item in removed:
            if item in self._items:
                index = self._items.index(item)
                self._items.pop(index)
                if index < self._first_shown:
                    self._first_shown -= 1
            view = self.views.pop(item.key, None)
            if view is not None:
                await view.remove()
        for item in changed:
            view = self.views.get(item.key)
            if isinstance(view, ItemView):
                await view.update_item(item, now)
        if added:
            self._items.extend(added)
            await self.mount_all([self._new_view(item, now) for item in added])
        await self._trim()
        self.call_after_refresh(self.follow)

    def _new_view(self, item: Item, now: float) -> Widget:
        view = make_view(item, now)
        self.views[item.key] = view
        return view

    async def _trim(self) -> None:
        excess = len(self._items) - self._first_shown - self.window
        if excess <= 0:
            return
        old = self._items[self._first_shown : self._first_shown + excess]
        self._first_shown += excess
        doomed = [view for item in old if (view := self.views.pop(item.key, None)) is not None]
        if doomed:
            await self.remove_children(doomed)
        self._update_marker()

    async def action_show_earlier(self) -> None:
        await self.show_earlier()

    async def show_earlier(self, count: int | None = None, now: float = 0.0) -> None:
        """Mount up to `count` (default: half a window) items from above the window."""
        if not self._first_shown:
            return
        count = count or max(1, self.window // 2)
        start = max(0, self._first_shown - count)
        views = [self._new_view(item, now) for item in self._items[start : self._first_shown]]
        self._first_shown = start
        self.window += len(views)  # what was asked for stays until the next reset
        await self.mount_all(views, after=self._marker)
        self._update_marker()
        self.scroll_home(animate=False)

    def on_earlier_marker_pressed(self, message: EarlierMarker.Pressed) -> None:
        message.stop()
        self.run_worker(self.show_earlier(), exclusive=True, group="earlier")

    def _update_marker(self) -> None:
        hidden = self._first_shown
        self._marker.display = hidden > 0
        if hidden:
            self._marker.update(
                Content.assemble((f"▲ {hidden} earlier item{'s' if hidden != 1 else ''}", "bold"), " — press Home or click to show")
            )

    def tool_cards(self) -> list[ToolCard]:
        return [view for view in self.views.values() if isinstance(view, ToolCard)]

    def tick(self, now: float) -> None:
        self.follow()
        for card in self.tool_cards():
            card.tick(now)
