"""A SessionClient whose session lives on its own event loop, in a background thread.

Used by the TUI: the session (and litellm's per-chunk stream parsing) then never blocks the UI's
loop, so keys and frames are handled while tokens stream; and building the session (imports,
opening the store) happens after the first paint.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any


class _End:
    pass


class ThreadedClient:
    """A SessionClient whose session lives on its own event loop in a background thread.

    The session (and litellm's per-chunk stream parsing) then never blocks the UI's loop: keys
    and frames are handled while tokens stream. The session is built in that thread after the
    first paint (`start()`), so importing the core does not delay it either; `submit` and
    `events` wait until it exists.
    """

    def __init__(self, build: Callable[[], Awaitable[Any]]) -> None:
        self._build = build
        self._client: Any = None
        self._error: BaseException | None = None
        self._ready: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False

    @property
    def session_id(self) -> str:
        return self._client.session_id if self._client is not None else ""

    def start(self) -> None:
        """Begin building; call from the UI's event loop (e.g. its first-paint callback)."""
        if self._started:
            return
        self._started = True
        ui_loop = asyncio.get_running_loop()
        ready = self._event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                self._client = loop.run_until_complete(self._build())
            except BaseException as exc:  # noqa: BLE001 - reported through events()
                self._error = exc
            ui_loop.call_soon_threadsafe(ready.set)
            if self._error is None:
                loop.run_forever()

        threading.Thread(target=run, name="kode-session", daemon=True).start()

    def _event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    async def _wait(self) -> Any:
        if not self._started:
            self.start()
        await self._event().wait()
        if self._error is not None:
            raise RuntimeError(f"could not start the session: {self._error}") from self._error
        return self._client

    async def _call(self, coroutine: Any) -> Any:
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def submit(self, op: Any) -> None:
        client = await self._wait()
        await self._call(client.submit(op))

    async def events(self, since: int = 0) -> AsyncIterator[Any]:
        client = await self._wait()
        ui_loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for event in client.events(since):
                    ui_loop.call_soon_threadsafe(queue.put_nowait, event)
            finally:
                ui_loop.call_soon_threadsafe(queue.put_nowait, _End)

        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(pump(), self._loop)
        try:
            while (event := await queue.get()) is not _End:
                yield event
        finally:
            future.cancel()

    async def close(self) -> None:
        if self._client is None or self._loop is None:
            return
        await self._call(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def error(self) -> BaseException | None:
        """Why the session could not be built, if it could not."""
        return self._error
