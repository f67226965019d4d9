"""A real session server in this process, for tests, benchmarks and users' own automation.

`start_server()` runs the real app under uvicorn on 127.0.0.1 (an ephemeral port), on its own
event loop in a background thread, so blocking clients (httpx, schemathesis) and async ones
(on their own loop) can both talk to it. Sessions use the real wiring; point the model at a
`FakeProvider` to run without a provider.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kode.config import load_config
from kode.config.schema import ServerSettings
from kode.host.hub import HubLimits, SessionHub
from kode.server.runner import Server, bind_socket
from kode.server.security import new_token
from kode.testing.fake_provider import FakeProvider

MODEL = "openai/gpt-4o-mini"


@dataclass
class LiveServer:
    url: str
    token: str
    workspace: Path
    hub: SessionHub
    server: Server
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    _serving: Future[Any] | None = field(default=None, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def http(self, **kwargs: Any) -> httpx.Client:
        """A blocking client with the token set."""
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30.0, **kwargs)

    def call(self, coroutine: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop (e.g. to inspect the hub) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.stop()
        if self._serving is not None:
            self._serving.result(10)
        self.call(self.hub.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def start_server(
    workspace: Path,
    provider: FakeProvider,
    *,
    settings: ServerSettings | None = None,
    limits: HubLimits | None = None,
    save: bool = True,
    overrides: dict[str, Any] | None = None,
) -> LiveServer:
    """Start a server on 127.0.0.1:0 serving `workspace`; call `.stop()` when done."""
    settings = settings or ServerSettings(port=0, heartbeat=1.0)
    loaded = load_config(
        workspace,
        overrides={"models.main": MODEL, "provider.api_base": provider.openai_base, **(overrides or {})},
    )
    token = new_token()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kode-test-server", daemon=True)
    thread.start()

    async def build() -> tuple[SessionHub, Server]:
        hub = SessionHub(loaded, cwd=workspace, api_key="sk-test", save=save, limits=limits, owner="test server")
        await hub.start()
        return hub, Server(hub, settings, token=token, sock=bind_socket("127.0.0.1", 0))

    hub, server = asyncio.run_coroutine_threadsafe(build(), loop).result(30)
    ready = threading.Event()
    serving = asyncio.run_coroutine_threadsafe(server.serve(on_ready=lambda s: ready.set()), loop)
    if not ready.wait(10):
        raise RuntimeError("the test server did not start")
    return LiveServer(server.url, token, workspace, hub, server, loop, thread, serving)
