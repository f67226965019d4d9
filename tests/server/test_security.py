"""Who may talk to `kode serve`: the token, the Host and Origin checks, and the token's life.

Against a real uvicorn on 127.0.0.1 (tests/server/conftest.py) and the real `kode serve` CLI in
a subprocess. Routes are enumerated from the live app, so a route added later is checked too.
"""

from __future__ import annotations

import base64
import os
import queue
import re
import secrets
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIWebSocketRoute
from starlette.routing import Route
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from kode.config.schema import ServerSettings
from kode.server.runner import TOKEN_ENV, ServeError, choose_token
from kode.server.security import load_or_create_token, new_token
from kode.testing.fake_provider import FakeProvider

from .conftest import MODEL, LiveServer, start_server

pytestmark = pytest.mark.timeout(120)

TIMEOUT = 10.0
MIN_TOKEN_CHARS = len(secrets.token_urlsafe(32))
"""A token_urlsafe(32): 256 bits, well over the 128 asked for."""

EXPECTED_HTTP_ROUTES = {
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/health"),
    ("GET", "/v1/sessions"),
    ("POST", "/v1/sessions"),
    ("GET", "/v1/sessions/{session_id}"),
    ("PATCH", "/v1/sessions/{session_id}"),
    ("DELETE", "/v1/sessions/{session_id}"),
    ("POST", "/v1/sessions/{session_id}/clear"),
    ("POST", "/v1/sessions/{session_id}/messages"),
    ("POST", "/v1/sessions/{session_id}/ops"),
    ("POST", "/v1/sessions/{session_id}/cancel"),
    ("GET", "/v1/sessions/{session_id}/approvals"),
    ("POST", "/v1/sessions/{session_id}/approvals/{request_id}"),
    ("GET", "/v1/sessions/{session_id}/usage"),
    ("GET", "/v1/sessions/{session_id}/events"),
}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/sessions"): {},
    ("PATCH", "/v1/sessions/{session_id}"): {"permission_mode": "plan"},
    ("POST", "/v1/sessions/{session_id}/messages"): {"text": "hello"},
    ("POST", "/v1/sessions/{session_id}/ops"): {"type": "cancel"},
    ("POST", "/v1/sessions/{session_id}/approvals/{request_id}"): {"decision": "deny"},
}
"""Valid bodies, so that a request the security layer let through would succeed."""


# -- helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    path: str
    body: Any = None
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def http_routes(server: LiveServer) -> list[tuple[str, str]]:
    """(method, path template) of every HTTP route of the live app, HEAD aside."""
    routes = []
    for route in server.server.app.routes:
        if isinstance(route, Route):  # APIRoute, and the spec's own route
            routes.extend((method, route.path) for method in sorted(route.methods or ()) if method != "HEAD")
    return routes


def websocket_routes(server: LiveServer) -> list[str]:
    return [route.path for route in server.server.app.routes if isinstance(route, APIWebSocketRoute)]


def calls(server: LiveServer, session_id: str) -> list[Call]:
    """One well-formed request per route, on a real session; DELETE last (it ends the session)."""
    made = []
    for method, template in http_routes(server):
        path = template.replace("{session_id}", session_id).replace("{request_id}", "req_nope")
        params = (("follow", "false"),) if template.endswith("/events") else ()
        made.append(Call(method, template, path, BODIES.get((method, template)), params))
    return sorted(made, key=lambda call: call.method == "DELETE")


def create_session(server: LiveServer) -> str:
    with server.http() as http:
        created = http.post("/v1/sessions", json={})
    assert created.status_code == 201, created.text
    return created.json()["id"]


@contextmanager
def client(server: LiveServer) -> Iterator[httpx.Client]:
    """A client without the token: each request says what it sends."""
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        yield http


def send(
    http: httpx.Client, call: Call, headers: dict[str, str], extra: dict[str, str] | None = None
) -> httpx.Response:
    params = list(call.params) + list((extra or {}).items())
    return http.request(call.method, call.path, json=call.body, params=params, headers=headers)


def no_cors_wildcard(response: httpx.Response) -> None:
    allowed = response.headers.get_list("access-control-allow-origin")
    assert "*" not in allowed, f"{response.request.method} {response.request.url}: {response.headers}"
    assert not any("evil" in value for value in allowed), response.headers


def refusal(response: httpx.Response, statuses: tuple[int, ...], code: str | None = None) -> str | None:
    """What is wrong with `response` as a refusal, or None: a 401/403 with a JSON error body."""
    no_cors_wildcard(response)
    where = f"{response.request.method} {response.request.url.path}"
    if response.status_code not in statuses:
        return f"{where}: {response.status_code} {response.text[:200]}"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{where}: content-type {response.headers.get('content-type')}"
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"{where}: not a JSON error body: {response.text[:200]}"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str) or not error["message"]:
        return f"{where}: error without code and message: {error}"
    if code is not None and error["code"] != code:
        return f"{where}: code {error['code']}, expected {code}"
    if response.status_code == 401 and not response.headers.get("www-authenticate", "").startswith("Bearer"):
        return f"{where}: 401 without WWW-Authenticate: Bearer"
    return None


def sse_refusal(http: httpx.Client, path: str, headers: dict[str, str], code: str) -> str | None:
    """`refusal` for a following SSE stream: one let through never ends, so its body is only
    read when the status says it was refused."""
    with http.stream("GET", path, headers=headers) as stream:
        if stream.status_code != 403:
            no_cors_wildcard(stream)
            return f"GET {path} (SSE): {stream.status_code}, the stream was let through"
        stream.read()
        return refusal(stream, (403,), code)


def ws_url(server: LiveServer, session_id: str, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + f"/v1/sessions/{session_id}/ws" + (f"?{query}" if query else "")


async def ws_status(url: str, headers: dict[str, str] | None = None, **options: Any) -> tuple[int, bytes]:
    """The HTTP status (and body) a WebSocket handshake gets; 101 when it is accepted."""
    try:
        async with connect(url, additional_headers=headers, open_timeout=TIMEOUT, proxy=None, **options) as ws:
            await ws.close()
            return 101, b""
    except InvalidStatus as exc:
        return exc.response.status_code, exc.response.body or b""


def port_of(server: LiveServer) -> int:
    return server.server.port


# -- the token on every route ------------------------------------------------------------------


def test_every_route_is_enumerated_and_none_is_missing_from_the_spec(live_server: LiveServer) -> None:
    routes = set(http_routes(live_server))
    assert EXPECTED_HTTP_ROUTES <= routes, EXPECTED_HTTP_ROUTES - routes
    assert "/v1/sessions/{session_id}/ws" in websocket_routes(live_server)
    with live_server.http() as http:
        spec = http.get("/v1/openapi.json").json()
    in_spec = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert in_spec == routes - {("GET", "/v1/openapi.json")}, "every route in the spec, the spec route aside"


WRONG_TOKENS = {
    "missing": lambda token: {},
    "wrong": lambda token: {"Authorization": f"Bearer {new_token()}"},
    "empty": lambda token: {"Authorization": "Bearer"},
    "no scheme": lambda token: {"Authorization": token},
    "basic": lambda token: {"Authorization": "Basic " + base64.b64encode(f"kode:{token}".encode()).decode()},
    "prefix": lambda token: {"Authorization": f"Bearer {token[:-1]}"},
    "longer": lambda token: {"Authorization": f"Bearer {token}x"},
    "other case": lambda token: {"Authorization": f"Bearer {token.swapcase()}"},
}


@pytest.mark.parametrize("variant", sorted(WRONG_TOKENS))
def test_every_route_refuses_a_missing_or_wrong_token(live_server: LiveServer, variant: str) -> None:
    session_id = create_session(live_server)
    with live_server.http() as http:
        before = http.get(f"/v1/sessions/{session_id}").json()
    headers = WRONG_TOKENS[variant](live_server.token)
    problems = []
    with client(live_server) as http:
        for call in calls(live_server, session_id):
            response = send(http, call, headers)
            if call.template == "/v1/health":
                if response.status_code != 200 or response.json() != {"status": "ok"}:
                    problems.append(f"{call}: health needs no token, got {response.status_code}")
                continue
            problems.append(refusal(response, (401,), "unauthorized"))
            if live_server.token in response.text:
                problems.append(f"{call}: the token is in the answer")
    assert not [p for p in problems if p], problems
    # Nothing happened: the session is as it was, and no other one was made.
    with live_server.http() as http:
        assert http.get(f"/v1/sessions/{session_id}").json() == before
        assert [s["id"] for s in http.get("/v1/sessions").json()["sessions"]] == [session_id]


@pytest.mark.parametrize("name", ["token", "access_token"])
@pytest.mark.parametrize("with_header", [False, True], ids=["query only", "query and header"])
def test_a_token_in_the_query_string_is_refused_everywhere(
    live_server: LiveServer, name: str, with_header: bool
) -> None:
    """Even the right token, even beside the right header, even on health: URLs end up in logs."""
    session_id = create_session(live_server)
    headers = live_server.headers if with_header else {}
    problems = []
    with client(live_server) as http:
        for call in calls(live_server, session_id):
            response = send(http, call, headers, {name: live_server.token})
            problems.append(refusal(response, (401,), "token_in_url"))
            if live_server.token in response.text:
                problems.append(f"{call}: the token is in the answer")
    assert not [p for p in problems if p], problems


def test_health_needs_no_token_but_refuses_one_in_the_url(live_server: LiveServer) -> None:
    with client(live_server) as http:
        assert http.get("/v1/health").json() == {"status": "ok"}
        assert refusal(http.get("/v1/health?token="), (401,), "token_in_url") is None
        assert refusal(http.get("/v1/health", params={"token": live_server.token}), (401,), "token_in_url") is None
        assert refusal(http.get("/v1/health?ACCESS_TOKEN=x"), (401,), "token_in_url") is None
        # The spec is not open: it maps the whole API.
        assert refusal(http.get("/v1/openapi.json"), (401,), "unauthorized") is None


def test_with_the_right_token_every_route_answers(live_server: LiveServer) -> None:
    """The control: the same requests, authorised, get through (so the refusals above are the
    security layer's doing, not the routes')."""
    session_id = create_session(live_server)
    answers = {}
    with client(live_server) as http:
        for call in calls(live_server, session_id):
            response = send(http, call, live_server.headers)
            no_cors_wildcard(response)
            answers[str(call)] = response.status_code
    refused = {call: status for call, status in answers.items() if status in (401, 403) or status >= 500}
    assert not refused, answers
    assert answers[f"POST /v1/sessions/{session_id}/messages"] == 200, answers
    assert answers[f"DELETE /v1/sessions/{session_id}"] == 204, answers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
        {"Authorization": "Basic a29kZTprb2Rl"},
    ],
    ids=["missing", "wrong", "basic"],
)
async def test_websocket_handshake_without_the_right_token_gets_401(
    live_server: LiveServer, headers: dict[str, str]
) -> None:
    session_id = create_session(live_server)
    for path in websocket_routes(live_server):
        url = live_server.url.replace("http://", "ws://") + path.replace("{session_id}", session_id)
        status, body = await ws_status(url, headers)
        assert status == 401, (path, status, body)
        assert b'"unauthorized"' in body, body


@pytest.mark.parametrize("name", ["token", "access_token"])
async def test_websocket_handshake_with_the_token_in_the_url_gets_401(live_server: LiveServer, name: str) -> None:
    session_id = create_session(live_server)
    status, body = await ws_status(ws_url(live_server, session_id, f"{name}={live_server.token}"))
    assert status == 401 and b'"token_in_url"' in body, (status, body)
    status, body = await ws_status(
        ws_url(live_server, session_id, f"since=0&{name}={live_server.token}"), live_server.headers
    )
    assert status == 401 and b'"token_in_url"' in body, (status, body)
    # The control: the token in the header opens it, and events flow.
    async with connect(
        ws_url(live_server, session_id), additional_headers=live_server.headers, open_timeout=TIMEOUT, proxy=None
    ) as ws:
        first = await ws.recv()
        assert '"session_started"' in str(first), first


# -- Host (DNS rebinding) and Origin -----------------------------------------------------------


def evil_hosts(port: int) -> list[str]:
    return [
        "evil.example",
        f"evil.example:{port}",
        "127.0.0.1.evil.example",
        f"127.0.0.1.evil.example:{port}",
        f"localhost.evil.example:{port}",
        f"127.0.0.1:{port}.evil.example",
        f"127.0.0.1:{port}@evil.example",
    ]


def test_dns_rebinding_host_is_refused_on_http_and_sse(live_server: LiveServer) -> None:
    port = port_of(live_server)
    session_id = create_session(live_server)
    problems = []
    with client(live_server) as http:
        for host in evil_hosts(port):
            headers = {**live_server.headers, "Host": host}
            for path in ("/v1/sessions", f"/v1/sessions/{session_id}", "/v1/health", "/v1/openapi.json"):
                problems.append(refusal(http.get(path, headers=headers), (403,), "forbidden_host"))
            created = http.post("/v1/sessions", json={}, headers=headers)
            problems.append(refusal(created, (403,), "forbidden_host"))
            problems.append(sse_refusal(http, f"/v1/sessions/{session_id}/events", headers, "forbidden_host"))
        # The control: the names this server answers to.
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "127.0.0.1", f"LOCALHOST:{port}"):
            answer = http.get("/v1/sessions", headers={**live_server.headers, "Host": host})
            if answer.status_code != 200:
                problems.append(f"Host {host}: {answer.status_code} {answer.text}")
    assert not [p for p in problems if p], problems
    with live_server.http() as http:
        assert len(http.get("/v1/sessions").json()["sessions"]) == 1, "no session was created through a bad Host"


async def test_dns_rebinding_host_is_refused_on_the_websocket_handshake(live_server: LiveServer) -> None:
    port = port_of(live_server)
    session_id = create_session(live_server)
    path = f"/v1/sessions/{session_id}/ws"
    for uri_host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
        # Connect to 127.0.0.1 while the handshake names the evil host, as a rebinding page would.
        status, body = await ws_status(f"ws://{uri_host}{path}", live_server.headers, host="127.0.0.1", port=port)
        assert status == 403 and b'"forbidden_host"' in body, (uri_host, status, body)
    status, _ = await ws_status(f"ws://localhost:{port}{path}", live_server.headers, host="127.0.0.1", port=port)
    assert status == 101, "the control: a name of this server"


def evil_origins(port: int) -> list[str]:
    other = port + 1 if port < 65535 else port - 1
    return [
        "http://evil.example",
        f"http://evil.example:{port}",
        "null",
        f"http://127.0.0.1:{other}",
        f"http://localhost:{other}",
        "http://127.0.0.1",
        f"http://127.0.0.1.evil.example:{port}",
        f"ws://evil.example:{port}",
        "",
    ]


def test_foreign_origins_are_refused_and_own_origin_is_allowed(live_server: LiveServer) -> None:
    port = port_of(live_server)
    session_id = create_session(live_server)
    problems = []
    with client(live_server) as http:
        for origin in evil_origins(port):
            headers = {**live_server.headers, "Origin": origin}
            problems.append(refusal(http.get("/v1/sessions", headers=headers), (403,), "forbidden_origin"))
            problems.append(refusal(http.post("/v1/sessions", json={}, headers=headers), (403,), "forbidden_origin"))
            problems.append(refusal(http.get("/v1/health", headers=headers), (403,), "forbidden_origin"))
            problems.append(sse_refusal(http, f"/v1/sessions/{session_id}/events", headers, "forbidden_origin"))
        for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://127.0.0.1:{port}/", None):
            headers = {**live_server.headers, **({"Origin": origin} if origin is not None else {})}
            answer = http.get("/v1/sessions", headers=headers)
            no_cors_wildcard(answer)
            if answer.status_code != 200:
                problems.append(f"Origin {origin}: {answer.status_code} {answer.text}")
        # An allowed Origin does not replace the token.
        problems.append(
            refusal(http.get("/v1/sessions", headers={"Origin": f"http://127.0.0.1:{port}"}), (401,), "unauthorized")
        )
    assert not [p for p in problems if p], problems
    with live_server.http() as http:
        assert len(http.get("/v1/sessions").json()["sessions"]) == 1, "no session was created from a foreign Origin"


async def test_foreign_origins_are_refused_on_the_websocket_handshake(live_server: LiveServer) -> None:
    port = port_of(live_server)
    session_id = create_session(live_server)
    url = ws_url(live_server, session_id)
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}"):
        status, body = await ws_status(url, {**live_server.headers, "Origin": origin})
        assert status == 403 and b'"forbidden_origin"' in body, (origin, status, body)
    assert (await ws_status(url, live_server.headers, origin=f"http://127.0.0.1:{port}"))[0] == 101
    assert (await ws_status(url, live_server.headers))[0] == 101


def test_preflight_never_answers_with_a_wildcard(live_server: LiveServer) -> None:
    port = port_of(live_server)
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with client(live_server) as http:
        for origin in ("http://evil.example", f"http://127.0.0.1:{port}", "null"):
            for headers in ({}, live_server.headers):
                answer = http.options("/v1/sessions", headers={**preflight, **headers, "Origin": origin})
                no_cors_wildcard(answer)
                assert answer.status_code < 500, answer.text
                assert "access-control-allow-credentials" not in answer.headers, answer.headers
                if origin != f"http://127.0.0.1:{port}":
                    assert refusal(answer, (403,), "forbidden_origin") is None, (
                        origin,
                        answer.status_code,
                        answer.text,
                    )


def test_configured_allowed_origins(isolated: Path, provider: FakeProvider) -> None:
    settings = ServerSettings(
        port=0, heartbeat=1.0, allowed_origins=["https://ide.example.com", "http://tool.example:3000/"]
    )
    server = start_server(isolated, provider, settings=settings)
    try:
        port = port_of(server)
        with client(server) as http:

            def status(origin: str) -> int:
                answer = http.get("/v1/sessions", headers={**server.headers, "Origin": origin})
                no_cors_wildcard(answer)
                return answer.status_code

            for origin in (
                "https://ide.example.com",
                "https://ide.example.com/",
                "HTTPS://IDE.EXAMPLE.COM",
                "http://tool.example:3000",
                f"http://127.0.0.1:{port}",
            ):
                assert status(origin) == 200, origin
            for origin in (
                "http://ide.example.com",
                "https://ide.example.com:8443",
                "https://evil.ide.example.com",
                "https://ide.example.com.evil.example",
                "http://tool.example",
                "http://evil.example",
            ):
                assert status(origin) == 403, origin
            # Allowed origins do not widen the Host check.
            answer = http.get("/v1/sessions", headers={**server.headers, "Host": "ide.example.com"})
            assert answer.status_code == 403, answer.text
    finally:
        server.stop()


def test_a_wildcard_bind_answers_to_its_addresses_but_not_to_names(isolated: Path, provider: FakeProvider) -> None:
    """`kode serve --host 0.0.0.0 --token-file F` is how one serves the LAN: clients there send
    `Host: <this machine's address>:PORT`, which must pass, while a DNS rebinding page can only
    ever send a name. (The socket is bound on 127.0.0.1 here; the Guard is set up for 0.0.0.0.)"""
    server = start_server(isolated, provider, settings=ServerSettings(host="0.0.0.0", port=0, heartbeat=1.0))
    try:
        port = port_of(server)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT, headers=server.headers) as http:

            def status(host: str) -> int:
                return http.get("/v1/sessions", headers={"Host": host}).status_code

            assert status(f"127.0.0.1:{port}") == 200
            for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
                assert status(host) == 403, host
            for host in (f"192.0.2.10:{port}", f"10.1.2.3:{port}", f"[2001:db8::1]:{port}"):
                assert status(host) == 200, f"a LAN client's Host {host} is refused: the server is unreachable"
    finally:
        server.stop()


# -- the token file ------------------------------------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def assert_strong(token: str) -> None:
    assert len(token) >= MIN_TOKEN_CHARS, token
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), token
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16, "at least 128 bits"


def test_token_file_is_created_0600_strong_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "server-token"
    with umask(0):  # a careless open() would leave it world-readable under this umask
        token, created = load_or_create_token(path)
    assert created
    assert mode_of(path) == 0o600
    assert_strong(token)
    assert path.read_text() == token + "\n"
    again, created_again = load_or_create_token(path)
    assert (again, created_again) == (token, False)
    other, _ = load_or_create_token(tmp_path / "other-token")
    assert other != token


def test_a_loosened_token_file_is_tightened_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "server-token"
    token, _ = load_or_create_token(path)
    path.chmod(0o644)
    assert load_or_create_token(path) == (token, False)
    assert mode_of(path) == 0o600


def test_an_empty_token_file_gets_a_new_token_and_0600(tmp_path: Path) -> None:
    path = tmp_path / "server-token"
    path.write_text("\n")
    path.chmod(0o666)
    token, created = load_or_create_token(path)
    assert created and mode_of(path) == 0o600
    assert_strong(token)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_uses_the_token_file_in_the_data_dir(isolated: Path, host: str) -> None:
    choice = choose_token(host, None, environ={})
    path = Path(os.environ["KODE_DATA_DIR"]) / "server-token"
    assert choice.created and choice.source == str(path)
    assert path.read_text().strip() == choice.token and mode_of(path) == 0o600
    assert_strong(choice.token)
    again = choose_token(host, None, environ={})
    assert (again.token, again.created) == (choice.token, False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com"])
def test_non_loopback_needs_a_token_chosen_on_purpose(isolated: Path, host: str, tmp_path: Path) -> None:
    with pytest.raises(ServeError) as refused:
        choose_token(host, None, environ={})
    message = str(refused.value)
    assert host in message and "--token-file" in message and TOKEN_ENV in message, message
    assert "anyone who can reach it" in message, "says why"
    assert not (Path(os.environ["KODE_DATA_DIR"]) / "server-token").exists(), "no token made on a refusal"
    # Chosen on purpose: an explicit file, or the variable.
    chosen = choose_token(host, tmp_path / "chosen-token", environ={})
    assert chosen.created and mode_of(tmp_path / "chosen-token") == 0o600
    from_env = choose_token(host, None, environ={TOKEN_ENV: "  a-long-enough-secret-value  "})
    assert (from_env.token, from_env.source, from_env.created) == ("a-long-enough-secret-value", TOKEN_ENV, False)


@pytest.mark.parametrize("value", ["s3cr3t", "x" * 15, "  fifteen-chars  "])
def test_a_short_token_in_the_environment_is_refused(isolated: Path, value: str) -> None:
    with pytest.raises(ServeError) as refused:
        choose_token("127.0.0.1", None, environ={TOKEN_ENV: value})
    message = str(refused.value)
    assert TOKEN_ENV in message and "too short" in message and "16" in message, message
    assert value.strip() not in message, "the secret is not echoed"


def test_a_blank_token_variable_falls_back_to_the_file(isolated: Path) -> None:
    choice = choose_token("127.0.0.1", None, environ={TOKEN_ENV: "   "})
    assert choice.source.endswith("server-token") and choice.created


def test_an_unusable_token_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ServeError, match="cannot read or create the token file"):
        choose_token("127.0.0.1", blocker / "server-token", environ={})


# -- the real CLI --------------------------------------------------------------------------------


KODE = [str(Path(sys.executable).with_name("kode"))]
if not Path(KODE[0]).exists():
    KODE = [sys.executable, "-m", "kode"]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "cli-home"
    (tmp_path / "cli-ws").mkdir()
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KODE_CONFIG_DIR": str(home / "config"),
        "KODE_DATA_DIR": str(home / "data"),
        "OPENAI_API_KEY": "sk-test",
        "KODE_MODEL": MODEL,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "NO_COLOR": "1",
    }


class Served:
    """A `kode serve` subprocess whose output is read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            KODE + args,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr, True), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str], announce: bool) -> None:
        for line in stream:
            into.append(line)
            if announce:
                self._lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self._lines.empty():
                    break
                continue
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no {pattern!r} on stderr (exit {self.proc.poll()}):\n{self.output}")

    def cmdline(self) -> str:
        return Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        for reader in self._readers:
            reader.join(5)
        return code

    @property
    def output(self) -> str:
        return "".join(self.stderr) + "".join(self.stdout)


@contextmanager
def serving(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[Served]:
    served = Served(args, env, cwd)
    try:
        yield served
    finally:
        served.stop()


def test_cli_refuses_a_non_loopback_host_without_a_chosen_token(cli_env: dict[str, str], tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [*KODE, "serve", "--host", "0.0.0.0", "--port", "0"],
        env=cli_env,
        cwd=tmp_path / "cli-ws",
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "refusing to listen on 0.0.0.0" in done.stderr and "--token-file" in done.stderr, done.stderr
    assert TOKEN_ENV in done.stderr and "anyone who can reach it" in done.stderr, done.stderr
    assert "listening" not in done.stderr + done.stdout
    assert elapsed < 20, f"refused only after {elapsed:.1f}s"
    assert not (Path(cli_env["KODE_DATA_DIR"]) / "server-token").exists()


def test_cli_refuses_a_short_token_variable(cli_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [*KODE, "serve", "--port", "0"],
        env={**cli_env, TOKEN_ENV: "tooshort"},
        cwd=tmp_path / "cli-ws",
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "too short" in done.stderr and "tooshort" not in done.stderr, done.stderr


def files_holding(root: Path, secret: str, skip: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p != skip and secret.encode() in p.read_bytes()]


def test_cli_shows_the_token_once_and_never_in_argv_or_logs(cli_env: dict[str, str], tmp_path: Path) -> None:
    workspace = tmp_path / "cli-ws"
    token_file = Path(cli_env["KODE_DATA_DIR"]) / "server-token"
    with serving(["serve", "--port", "0"], cli_env, workspace) as first:
        url = first.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        shown = first.wait_for(r"token \(shown once; saved 0600 in (.+)\): (\S+)")
        first.wait_for(r"attach with")
        token = shown.group(2)
        assert shown.group(1) == str(token_file)
        assert_strong(token)
        assert token_file.read_text().strip() == token and mode_of(token_file) == 0o600
        assert token not in first.cmdline()
        with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
            assert http.get("/v1/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert http.get("/v1/sessions").status_code == 401
            # A client that puts it in the URL is refused, and the server must not log the URL.
            assert http.get("/v1/sessions", params={"token": token}).status_code == 401
            assert http.get("/v1/nope", headers={"Authorization": f"Bearer {token}"}).status_code == 404
        first.stop()
    lines_with_token = [line for line in first.output.splitlines() if token in line]
    assert len(lines_with_token) == 1 and "shown once" in lines_with_token[0], first.output
    assert first.output.count(token) == 1, first.output
    assert files_holding(Path(cli_env["HOME"]), token, skip=token_file) == [], "the token only in its file"

    with serving(["serve", "--port", "0"], cli_env, workspace) as second:
        url = second.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        second.wait_for(rf"token: in {re.escape(str(token_file))}")
        second.wait_for(r"attach with")
        assert token not in second.cmdline()
        with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
            assert http.get("/v1/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        second.stop()
    assert token not in second.output, second.output
    assert token_file.read_text().strip() == token, "reused, not replaced"
    assert files_holding(Path(cli_env["HOME"]), token, skip=token_file) == []


def test_cli_never_prints_a_token_from_the_environment(cli_env: dict[str, str], tmp_path: Path) -> None:
    token = new_token()
    with serving(["serve", "--port", "0"], {**cli_env, TOKEN_ENV: token}, tmp_path / "cli-ws") as served:
        url = served.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        served.wait_for(rf"token: in {TOKEN_ENV}")
        served.wait_for(r"attach with")
        assert token not in served.cmdline()
        with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
            assert http.get("/v1/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        served.stop()
    assert token not in served.output, served.output
    assert not (Path(cli_env["KODE_DATA_DIR"]) / "server-token").exists(), "no file when the variable is set"
