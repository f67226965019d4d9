"""What the async and the sync HTTP clients share: errors, request shapes, response checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from kode import __version__
from kode.protocol.codec import parse_event
from kode.protocol.events import Event

END_EVENT = "end"
"""The SSE event a server sends when the session's log closes (see kode.server.streams)."""


class RemoteError(Exception):
    """The server refused a request or cannot be reached; `str()` is one line for the user."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @classmethod
    def unreachable(cls, url: str, exc: Exception) -> RemoteError:
        detail = str(exc) or type(exc).__name__
        return cls(f"cannot reach the kode server at {url} ({detail}); is `kode serve` running?", code="unreachable")


@dataclass(slots=True)
class SessionView:
    """A session as the server describes it."""

    id: str
    title: str
    cwd: str
    model: str
    status: str
    loaded: bool
    busy: bool
    last_seq: int
    permission_mode: str = ""
    updated_at: float | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> SessionView:
        return cls(**{name: data[name] for name in cls.__slots__ if name in data})  # type: ignore[attr-defined]


def default_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": f"kode/{__version__}"}


def check(response: httpx.Response) -> Any:
    """The JSON body of a successful response, or RemoteError with the server's message."""
    if response.status_code < 400:
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
    try:
        error = response.json().get("error", {})
        message, code = error.get("message", ""), error.get("code", "")
    except (ValueError, AttributeError):
        message, code = response.text[:200], ""
    if response.status_code == 401:
        message = f"{message} (the token is in the server's data dir: server-token; or set KODE_SERVER_TOKEN)"
    raise RemoteError(message or f"HTTP {response.status_code}", status=response.status_code, code=code)


def sse_request(session_id: str, cursor: int, *, follow: bool) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """The request for a session's events after `cursor`: a reconnect names its last event."""
    params: dict[str, Any] = {} if follow else {"follow": "false"}
    headers: dict[str, str] = {}
    if cursor > 0:
        headers["Last-Event-ID"] = str(cursor)
    return "GET", f"/v1/sessions/{session_id}/events", params, headers


def stream_timeout() -> httpx.Timeout:
    """Event streams are long-lived: no overall limit; a read waits past several keep-alives."""
    return httpx.Timeout(10.0, read=90.0)


class Reconnector:
    """When to retry a dropped event stream: at once-ish, backing off to 2 s, and giving up
    (RemoteError) once the server has been unreachable for `give_up_after` seconds."""

    def __init__(self, url: str, give_up_after: float) -> None:
        self.url = url
        self.give_up_after = give_up_after
        self.connected()

    def connected(self) -> None:
        self._lost_at: float | None = None
        self._delay = 0.05

    def lost(self, exc: Exception) -> float:
        """Seconds to wait before the next attempt, or RemoteError when it is time to stop."""
        now = time.monotonic()
        self._lost_at = self._lost_at or now
        if now - self._lost_at > self.give_up_after:
            raise RemoteError.unreachable(self.url, exc) from None
        delay, self._delay = self._delay, min(self._delay * 2, 2.0)
        return delay


def decode_sse(event_name: str, data: str) -> Event | None:
    """The protocol event in an SSE message; None for keep-alives and other frames."""
    if event_name == END_EVENT or not data:
        return None
    return parse_event(data)
