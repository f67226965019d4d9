"""Who may talk to the server: a bearer token, and requests that really are for this server.

Three checks run before any route, on HTTP and WebSocket alike (a pure ASGI middleware, so a
WebSocket handshake is judged exactly like a request):

- **Host**: the Host header must name this server (loopback names, or the bound address). A DNS
  rebinding page that made `evil.example` resolve to 127.0.0.1 sends `Host: evil.example`.
- **Origin**: a browser says where the page came from; only the server's own origin and the
  configured ones pass. Non-browser clients send no Origin and are judged by the token alone.
- **Token**: `Authorization: Bearer TOKEN`, compared in constant time. A token in the query string
  is refused outright: URLs end up in logs, shell history and Referer headers.

Health is the one route that needs no token; it says nothing but "ok".
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

TOKEN_BYTES = 32
"""256 bits of randomness; the issue asks for at least 128."""
QUERY_TOKEN_NAMES = frozenset({"token", "access_token", "auth", "authorization", "api_key", "key", "bearer"})
OPEN_PATHS = frozenset({"/v1/health"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """The token kept at `path` (0600), creating it when absent. Returns (token, created)."""
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if token:
        os.chmod(path, 0o600)  # tighten a file someone loosened
        return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    return token, True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(slots=True)
class Guard:
    """What the security middleware checks against; built once per server."""

    token: str
    host: str
    port: int
    allowed_origins: Iterable[str] = ()
    any_port: bool = False
    """A unix-socket server: reached through forwarded ports, so a loopback Host with any port."""
    _hosts: frozenset[str] = field(default=frozenset(), init=False)
    _origins: frozenset[str] = field(default=frozenset(), init=False)

    def bind(self, port: int) -> None:
        """Fix the allowed Host and Origin values once the real port is known (port 0 binds any)."""
        self.port = port
        names = {"127.0.0.1", "localhost", "[::1]"}
        if not is_loopback(self.host):
            names.add(self.host if ":" not in self.host else f"[{self.host}]")
        self._hosts = frozenset({*names, *(f"{name}:{port}" for name in names)})
        own = {f"{scheme}://{name}:{port}" for scheme in ("http", "https") for name in names}
        self._origins = frozenset({*own, *(origin.rstrip("/") for origin in self.allowed_origins)})

    def host_ok(self, value: str) -> bool:
        value = value.lower()
        if self.any_port:
            name, _, port = value.rpartition(":")
            if name and port.isdigit() and not name.endswith(":"):
                value = name
        if value in self._hosts:
            return True
        # Bound to every address: a client on the network names one of them. Any IP literal
        # passes; a DNS-rebinding page can only send a name, so names stay refused.
        return self.host.strip("[]") in WILDCARD_HOSTS and _is_ip_host(value, self.port)

    def origin_ok(self, value: str | None) -> bool:
        return value is None or value.rstrip("/").lower() in {o.lower() for o in self._origins}

    def token_ok(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return False
        return hmac.compare_digest(credentials.strip().encode(), self.token.encode())


def _is_ip_host(value: str, port: int) -> bool:
    """`value` is an IP address, with this server's port or none, as a Host header has it."""
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        if rest not in ("", f":{port}"):
            return False
    else:
        address, _, given = value.partition(":")
        if given not in ("", str(port)):
            return False
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


class SecurityMiddleware:
    """Refuses, before routing, anything that is not for this server or not authorised."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self._check(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, code, message = problem
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, send, status, code, message)
        else:
            await _refuse_http(send, status, code, message)

    def _check(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = _headers(scope)
        if not self.guard.host_ok(headers.get("host", "")):
            return 403, "forbidden_host", "this server does not answer to that Host name"
        if not self.guard.origin_ok(headers.get("origin")):
            return 403, "forbidden_origin", "requests from this Origin are not allowed"
        query = scope.get("query_string", b"").decode("latin-1")
        if any(name.lower() in QUERY_TOKEN_NAMES for name, _ in parse_qsl(query, keep_blank_values=True)):
            return 401, "token_in_url", "send the token in the Authorization header, never in the URL"
        if scope.get("path", "") in OPEN_PATHS:
            return None
        if not self.guard.token_ok(headers.get("authorization")):
            return 401, "unauthorized", "missing or wrong token: send Authorization: Bearer TOKEN"
        return None


def _headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name not in found:  # the first wins; a duplicated Host or Authorization is suspect anyway
            found[name] = raw_value.decode("latin-1")
    return found


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def _refuse_http(send: Send, status: int, code: str, message: str) -> None:
    body = error_body(code, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="kode"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    """Reject the handshake with an HTTP response (the WebSocket Denial Response extension,
    which uvicorn supports), so clients see 401/403 rather than a bare close."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = error_body(code, message)
    await send(
        {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})
