"""The served-session API for synchronous code: scripts, notebooks, other tools' plugins.

Same calls as `kode.client.remote.RemoteServer`, blocking; `events()` is a plain iterator that
reconnects with `Last-Event-ID` like the async one.

    with SyncRemoteServer("http://127.0.0.1:8765", token) as server:
        session = server.create_session()
        print(server.send_message(session.id, "What does this repo do?")["result"])
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
from httpx_sse import connect_sse

from kode.client.http_common import (
    END_EVENT,
    Reconnector,
    RemoteError,
    SessionView,
    check,
    decode_sse,
    default_headers,
    sse_request,
    stream_timeout,
)
from kode.protocol.codec import dump_op
from kode.protocol.events import Event
from kode.protocol.ops import Op


class SyncRemoteServer:
    def __init__(self, url: str, token: str, *, timeout: float = 30.0, reconnect_for: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.reconnect_for = reconnect_for
        self._http = httpx.Client(base_url=self.url, headers=default_headers(token), timeout=timeout)

    def __enter__(self) -> SyncRemoteServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RemoteError.unreachable(self.url, exc) from None
        return check(response)

    def health(self) -> bool:
        return self._call("GET", "/v1/health").get("status") == "ok"

    def list_sessions(self) -> list[SessionView]:
        return [SessionView.of(s) for s in self._call("GET", "/v1/sessions")["sessions"]]

    def create_session(self, **fields: Any) -> SessionView:
        return SessionView.of(self._call("POST", "/v1/sessions", json=fields))

    def get_session(self, session_id: str) -> SessionView:
        return SessionView.of(self._call("GET", f"/v1/sessions/{session_id}"))

    def delete_session(self, session_id: str) -> None:
        self._call("DELETE", f"/v1/sessions/{session_id}")

    def send_message(self, session_id: str, text: str) -> dict[str, Any]:
        """Run a turn and wait for it: the result (`status`, `result`, `usage`, `error`)."""
        return self._call("POST", f"/v1/sessions/{session_id}/messages", json={"text": text}, timeout=None)

    def usage(self, session_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/sessions/{session_id}/usage")

    def submit(self, session_id: str, op: Op) -> None:
        self._call(
            "POST", f"/v1/sessions/{session_id}/ops", content=dump_op(op), headers={"content-type": "application/json"}
        )

    def events(self, session_id: str, since: int = 0, *, follow: bool = True) -> Iterator[Event]:
        """Events after `since`, reconnecting on a dropped connection (see RemoteServer.events)."""
        cursor = since
        retry = Reconnector(self.url, self.reconnect_for)
        while True:
            method, path, params, headers = sse_request(session_id, cursor, follow=follow)
            try:
                with connect_sse(
                    self._http, method, path, params=params, headers=headers, timeout=stream_timeout()
                ) as source:
                    if source.response.status_code >= 400:
                        source.response.read()
                        check(source.response)
                    retry.connected()
                    for sse in source.iter_sse():
                        if sse.event == END_EVENT:
                            return
                        if (event := decode_sse(sse.event, sse.data)) is not None:
                            cursor = max(cursor, event.seq)
                            yield event
                    if not follow:
                        return
            except (httpx.TransportError, httpx.StreamError) as exc:
                time.sleep(retry.lost(exc))
