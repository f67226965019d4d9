"""SessionClient over HTTP: the same interface the TUI uses in-process, for a served session.

`RemoteServer` is the API (sessions, messages, usage); `RemoteClient` is one session as a
SessionClient: `submit(op)` posts the op, `events(since)` follows the session's SSE stream and,
when the connection drops, reconnects with `Last-Event-ID` and goes on from the last event it
saw, so a client that reconnects misses nothing and sees nothing twice.

httpx is imported here, not at kode's startup: only remote frontends pay for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import aconnect_sse

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
from kode.protocol.ops import AnswerApproval, Op


class RemoteServer:
    """The server's HTTP API, async. Use as `async with RemoteServer(url, token) as server:`."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        reconnect_for: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`transport` replaces httpx's (an SSH tunnel, a test's cutting transport)."""
        self.url = url.rstrip("/")
        self.reconnect_for = reconnect_for
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=default_headers(token), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> RemoteServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RemoteError.unreachable(self.url, exc) from None
        return check(response)

    async def health(self) -> bool:
        return (await self._call("GET", "/v1/health")).get("status") == "ok"

    async def list_sessions(self) -> list[SessionView]:
        return [SessionView.of(s) for s in (await self._call("GET", "/v1/sessions"))["sessions"]]

    async def create_session(self, **fields: Any) -> SessionView:
        return SessionView.of(await self._call("POST", "/v1/sessions", json=fields))

    async def get_session(self, session_id: str) -> SessionView:
        return SessionView.of(await self._call("GET", f"/v1/sessions/{session_id}"))

    async def delete_session(self, session_id: str) -> None:
        await self._call("DELETE", f"/v1/sessions/{session_id}")

    async def send_message(self, session_id: str, text: str) -> dict[str, Any]:
        """Run a turn and wait for it: the result (`status`, `result`, `usage`, `error`)."""
        return await self._call(
            "POST", f"/v1/sessions/{session_id}/messages", json={"text": text}, timeout=httpx.Timeout(None)
        )

    async def usage(self, session_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/v1/sessions/{session_id}/usage")

    async def submit(self, session_id: str, op: Op) -> None:
        await self._call(
            "POST",
            f"/v1/sessions/{session_id}/ops",
            content=dump_op(op),
            headers={"content-type": "application/json"},
        )

    def client(self, session_id: str) -> RemoteClient:
        return RemoteClient(self, session_id)

    async def events(self, session_id: str, since: int = 0, *, follow: bool = True) -> AsyncIterator[Event]:
        """The session's events after `since`; on a dropped connection, reconnect and resume.

        Ends when the session closes (the server says so) or, without `follow`, at the end of
        what is there now. Raises RemoteError when the server stays unreachable for
        `reconnect_for` seconds, or refuses (a 4xx: unknown session, wrong token).
        """
        cursor = since
        retry = Reconnector(self.url, self.reconnect_for)
        while True:
            method, path, params, headers = sse_request(session_id, cursor, follow=follow)
            try:
                async with aconnect_sse(
                    self._http, method, path, params=params, headers=headers, timeout=stream_timeout()
                ) as source:
                    if source.response.status_code >= 400:
                        await source.response.aread()
                        check(source.response)
                    retry.connected()
                    async for sse in source.aiter_sse():
                        if sse.event == END_EVENT:
                            return
                        if (event := decode_sse(sse.event, sse.data)) is not None:
                            cursor = max(cursor, event.seq)
                            yield event
                    if not follow:
                        return
            except (httpx.TransportError, httpx.StreamError) as exc:
                await asyncio.sleep(retry.lost(exc))


class RemoteClient:
    """One served session as a SessionClient (see kode.client.base)."""

    def __init__(self, server: RemoteServer, session_id: str) -> None:
        self.server = server
        self._session_id = session_id

    @property
    def session_id(self) -> str:
        return self._session_id

    async def submit(self, op: Op) -> None:
        try:
            await self.server.submit(self._session_id, op)
        except RemoteError as exc:
            if isinstance(op, AnswerApproval) and exc.status == 409:
                return  # another client answered first; everyone sees approval_resolved
            if exc.status == 409:
                return  # busy: the server reported it to every client as an error event
            raise

    def events(self, since: int = 0) -> AsyncIterator[Event]:
        return self.server.events(self._session_id, since)

    async def close(self) -> None:
        """Detach. The session goes on running on the server."""
