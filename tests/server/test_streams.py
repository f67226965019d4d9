"""Event streams against a live server: the reconnect guarantee, many clients, the WebSocket.

The guarantee under test: a client that loses its connection and comes back with the last seq it
saw (`Last-Event-ID`, `?since=`) gets exactly what followed: nothing lost, nothing twice, deltas
included, whether the connection was cut by the client, by the server, or in the middle of a frame.
"""

from __future__ import annotations

import asyncio
import json
import random
import shlex
import socket
import struct
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kode.client.remote import RemoteServer
from kode.config.schema import ServerSettings
from kode.protocol.codec import dump_event, parse_event
from kode.protocol.events import Event
from kode.protocol.ops import SubmitMessage
from kode.testing.fake_provider import FakeProvider, Reply, ToolCall

from .conftest import LiveServer, start_server

DELTAS = {"text_delta", "thinking_delta", "tool_call_output"}
LINES = 240

# -- helpers -------------------------------------------------------------------------------------


def parse_frame(block: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.decode().split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value
    return fields


def frames_of(text: str) -> list[dict[str, str]]:
    return [f for f in (parse_frame(b.encode()) for b in text.split("\n\n")) if f]


def events_of(text: str) -> list[Event]:
    return [parse_event(f["data"]) for f in frames_of(text) if "data" in f and f.get("event") != "end"]


def is_turn_end(event: Event) -> bool:
    return event.type == "turn_finished" and event.agent_id == "root"


def dumps(events: list[Event]) -> list[str]:
    return [dump_event(e) for e in events]


def long_turn(provider: FakeProvider) -> None:
    """A turn of several hundred events over ~3 s: streamed text, a command printing line by
    line (each line its own tool_call_output delta), then more streamed text."""
    script = f"import time\nfor i in range({LINES}):\n    print(f'line {{i}}', flush=True)\n    time.sleep(0.005)\n"
    command = f"{shlex.quote(sys.executable)} -u -c {shlex.quote(script)}"
    provider.script(
        Reply(
            text="".join(f"t{i:02d} " for i in range(50)),
            chunk_size=4,
            delay=0.021,
            tool_calls=[ToolCall("bash", {"command": command})],
        ),
        Reply(text="".join(f"e{i:02d} " for i in range(25)), chunk_size=4, delay=0.021),
    )


@contextmanager
def serving(workspace: Path, provider: FakeProvider, **options: Any) -> Iterator[LiveServer]:
    provider.clear()
    server = start_server(workspace, provider, **options)
    try:
        yield server
    finally:
        server.stop()


def create(server: LiveServer, **body: Any) -> str:
    with server.http() as http:
        response = http.post("/v1/sessions", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]


def read_log(server: LiveServer, session_id: str, since: int = 0) -> list[Event]:
    with server.http() as http:
        response = http.get(f"/v1/sessions/{session_id}/events", params={"follow": "false", "since": since})
        assert response.status_code == 200
        return events_of(response.text)


def async_http(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=httpx.Timeout(10.0, read=30.0))


async def follow(
    server: LiveServer, session_id: str, until: Callable[[Event], bool] = is_turn_end, **params: Any
) -> list[Event]:
    """An uninterrupted SSE follower."""
    events: list[Event] = []
    async with (
        async_http(server) as http,
        http.stream("GET", f"/v1/sessions/{session_id}/events", params=params) as response,
    ):
        assert response.status_code == 200
        buffer = b""
        async for chunk in response.aiter_raw():
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                frame = parse_frame(block)
                if "data" in frame and frame.get("event") != "end":
                    events.append(parse_event(frame["data"]))
                    if until(events[-1]):
                        return events
    return events


def ws_url(server: LiveServer, session_id: str, since: int | None = None) -> str:
    query = f"?since={since}" if since is not None else ""
    return server.url.replace("http://", "ws://") + f"/v1/sessions/{session_id}/ws{query}"


@asynccontextmanager
async def websocket(server: LiveServer, session_id: str, since: int | None = None) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(server, session_id, since), additional_headers=server.headers, open_timeout=5) as ws:
        yield ws


async def receive_until(
    ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Frames (as JSON) up to and including the first that matches."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frames.append(json.loads(await ws.recv()))
            if predicate(frames[-1]):
                return frames


def of_type(name: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("type") == name and all(frame.get(k) == v for k, v in fields.items())


def event_frames(frames: list[dict[str, Any]]) -> list[Event]:
    return [parse_event(f) for f in frames if f.get("type") not in ("heartbeat", "op_error")]


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)
    return value


# -- the reconnect guarantee ---------------------------------------------------------------------


async def test_fifty_drops_mid_turn_lose_and_repeat_nothing(live_server: LiveServer, provider: FakeProvider) -> None:
    session_id = create(live_server, permission_mode="bypass")
    hosted = live_server.hub._hosted[session_id]
    rng = random.Random(20240601)
    wanted_drops = 50
    received: list[Event] = []
    drops: list[tuple[int, bool]] = []  # (last seq seen, was the turn still running)
    connections = 0
    mid_frame_cuts = 0

    async def reconnecting() -> None:
        nonlocal connections, mid_frame_cuts
        last = 0
        async with async_http(live_server) as http:
            while True:
                headers = {"Last-Event-ID": str(last)} if last else {}
                budget = rng.randint(60, 1200) if last and len(drops) < wanted_drops else None
                connections += 1
                async with http.stream("GET", f"/v1/sessions/{session_id}/events", headers=headers) as response:
                    assert response.status_code == 200
                    buffer, taken, cut = b"", 0, False
                    async for chunk in response.aiter_raw():
                        if budget is None and last and len(drops) < wanted_drops:
                            budget = taken + rng.randint(60, 1200)  # the first cut once something was seen
                        if budget is not None and taken + len(chunk) >= budget:
                            chunk, cut = chunk[: budget - taken], True
                        taken += len(chunk)
                        buffer += chunk
                        while b"\n\n" in buffer:
                            block, buffer = buffer.split(b"\n\n", 1)
                            frame = parse_frame(block)
                            if "id" not in frame:
                                continue
                            event = parse_event(frame["data"])
                            assert frame["id"] == str(event.seq)
                            received.append(event)
                            last = event.seq
                            if is_turn_end(event):
                                return
                        if cut:
                            mid_frame_cuts += bool(buffer.strip())
                            drops.append((last, hosted.busy))
                            break  # leaving the block closes the connection, unread
                # Let the turn run on a little: the next connection replays what was missed.
                await asyncio.sleep(rng.uniform(0, 0.03))

    reader = asyncio.create_task(reconnecting())
    steady = asyncio.create_task(follow(live_server, session_id))
    await asyncio.sleep(0.1)  # both attached before the turn starts
    long_turn(provider)
    started = time.monotonic()
    async with async_http(live_server) as http:
        turn = await http.post(f"/v1/sessions/{session_id}/messages", json={"text": "go"}, timeout=30)
    took = time.monotonic() - started
    assert turn.status_code == 200 and turn.json()["status"] == "completed", turn.text
    await asyncio.wait_for(reader, 10)
    uninterrupted = await asyncio.wait_for(steady, 10)

    last = received[-1].seq
    seqs = [e.seq for e in received]
    lost = sorted(set(range(1, last + 1)) - set(seqs))
    duplicated = len(seqs) - len(set(seqs))
    deltas = sum(e.type in DELTAS for e in received)
    print(
        f"\nreconnect: a {took:.1f} s turn, {len(received)} events ({deltas} deltas), {len(drops)} drops "
        f"({mid_frame_cuts} mid-frame) over {connections} connections; lost {len(lost)}, duplicated {duplicated}"
    )
    assert len(drops) == wanted_drops
    assert all(running for _, running in drops), "every drop happened while the turn was running"
    assert len({seq for seq, _ in drops}) > 25, "drops spread over the turn"
    assert lost == [] and duplicated == 0
    assert seqs == list(range(1, last + 1))
    assert deltas > 100, "a long turn: hundreds of deltas (fewer on a loaded machine: they are coalesced)"
    assert mid_frame_cuts > 10
    # The same events, byte for byte, as a client that never dropped.
    assert dumps(received) == dumps(uninterrupted)
    # And as the log replays it afterwards: exactly from a seq, folded from the start.
    assert dumps(read_log(live_server, session_id, since=1)) == dumps(received[1:])
    durable = [e for e in received if e.type not in DELTAS]
    assert dumps(read_log(live_server, session_id)) == dumps(durable)
    text = "".join(e.text for e in received if e.type == "text_delta")
    assert text == "".join(e.text for e in received if e.type == "message_completed")
    output = "".join(e.chunk for e in received if e.type == "tool_call_output")
    assert output.splitlines() == [f"line {i}" for i in range(LINES)]


def kill_event_streams(server: LiveServer) -> int:
    """Abort, server side, every connection currently serving an event stream."""

    async def kill() -> int:
        killed = 0
        for connection in list(server.server._server.server_state.connections):
            scope = getattr(connection, "scope", None)
            transport = getattr(connection, "transport", None)
            if scope and scope.get("path", "").endswith("/events") and transport and not transport.is_closing():
                transport.abort()
                killed += 1
        return killed

    return server.call(kill())


async def test_remote_client_resumes_after_server_side_kills(live_server: LiveServer, provider: FakeProvider) -> None:
    session_id = create(live_server, permission_mode="bypass")
    hosted = live_server.hub._hosted[session_id]
    async with RemoteServer(live_server.url, live_server.token, reconnect_for=10) as server:
        client = server.client(session_id)
        received: list[Event] = []

        async def consume() -> None:
            async for event in client.events():
                received.append(event)
                if is_turn_end(event):
                    return

        consumer = asyncio.create_task(consume())
        await wait_for(lambda: received)
        long_turn(provider)
        turn = asyncio.create_task(server.send_message(session_id, "go"))
        await wait_for(lambda: hosted.busy)
        kills = 0
        while hosted.busy and kills < 25:
            await asyncio.sleep(0.06)
            kills += kill_event_streams(live_server) if hosted.busy else 0
        assert (await asyncio.wait_for(turn, 20))["status"] == "completed"
        await asyncio.wait_for(consumer, 10)
    seqs = [e.seq for e in received]
    print(
        f"\nserver-side kills: {kills}, {len(received)} events, lost/dup: "
        f"{len(set(range(1, seqs[-1] + 1)) - set(seqs))}/{len(seqs) - len(set(seqs))}"
    )
    assert kills >= 15
    assert seqs == list(range(1, seqs[-1] + 1))
    assert dumps(received[1:]) == dumps(read_log(live_server, session_id, since=1))


class CuttingTransport(httpx.AsyncBaseTransport):
    """Client side cuts: an event stream's body fails with a ReadError after a few hundred bytes,
    as when the client's network drops; the connection is closed under it."""

    def __init__(self, cuts: int, seed: int = 7) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.cuts_left = cuts
        self.cut = 0
        self.rng = random.Random(seed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/events") or self.cuts_left <= 0:
            return response
        self.cuts_left -= 1
        budget = self.rng.randint(100, 1500)
        transport = self

        class Cut(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                taken = 0
                async for chunk in response.stream:  # type: ignore[union-attr]
                    if taken + len(chunk) >= budget:
                        yield chunk[: budget - taken]
                        transport.cut += 1
                        raise httpx.ReadError("connection cut by the test")
                    taken += len(chunk)
                    yield chunk

            async def aclose(self) -> None:
                await response.aclose()

        return httpx.Response(
            response.status_code, headers=response.headers, stream=Cut(), extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_remote_client_resumes_after_client_side_cuts(live_server: LiveServer, provider: FakeProvider) -> None:
    session_id = create(live_server, permission_mode="bypass")
    cutter = CuttingTransport(cuts=30)
    async with RemoteServer(live_server.url, live_server.token, reconnect_for=10, transport=cutter) as server:
        long_turn(provider)
        await server.submit(session_id, SubmitMessage(text="go"))
        received: list[Event] = []
        async with asyncio.timeout(15):
            async for event in server.client(session_id).events():
                received.append(event)
                if is_turn_end(event):
                    break
    seqs = [e.seq for e in received]
    print(f"\nclient-side cuts: {cutter.cut}, {len(received)} events")
    assert cutter.cut >= 15
    assert seqs == list(range(1, seqs[-1] + 1))
    assert received[-1].status == "completed"
    assert dumps(received[1:]) == dumps(read_log(live_server, session_id, since=1))


# -- several clients -----------------------------------------------------------------------------


async def test_a_websocket_prompts_and_an_sse_client_watches(live_server: LiveServer, provider: FakeProvider) -> None:
    session_id = create(live_server)
    watcher = asyncio.create_task(follow(live_server, session_id))
    async with websocket(live_server, session_id) as ws:
        await receive_until(ws, of_type("agent_state"))  # attached, history replayed
        await wait_for(lambda: live_server.hub._hosted[session_id].connections == 2)
        provider.script(Reply(text="".join(f"w{i} " for i in range(60)), chunk_size=3, delay=0.01))
        await ws.send(json.dumps({"type": "user_message", "text": "hello both"}))
        frames = await receive_until(ws, of_type("turn_finished"))
    seen_by_ws = event_frames(frames)
    seen_by_sse = await asyncio.wait_for(watcher, 10)
    assert seen_by_sse[0].type == "session_started"
    tail = seen_by_sse[-len(seen_by_ws) :]
    assert dumps(tail) == dumps(seen_by_ws), "both saw the same events in the same order"
    assert seen_by_ws[0].type == "user_message" and seen_by_ws[0].text == "hello both"
    assert sum(e.type == "text_delta" for e in seen_by_ws) > 5
    assert seen_by_ws[-1].result == "".join(f"w{i} " for i in range(60))
    seqs = [e.seq for e in seen_by_sse]
    assert seqs == list(range(1, seqs[-1] + 1))


# -- the WebSocket -------------------------------------------------------------------------------


async def test_websocket_ops(live_server: LiveServer, provider: FakeProvider) -> None:
    session_id = create(live_server)
    async with websocket(live_server, session_id) as ws:
        await receive_until(ws, of_type("agent_state"))
        # A turn.
        await ws.send(json.dumps({"type": "user_message", "text": "over the socket"}))
        frames = await receive_until(ws, of_type("turn_finished"))
        assert frames[-1]["status"] == "completed" and frames[-1]["result"] == "over the socket"

        # Cancel mid-turn.
        provider.script(Reply(text="".join(f"s{i} " for i in range(400)), chunk_size=3, delay=0.02))
        await ws.send(json.dumps({"type": "user_message", "text": "slow"}))
        await receive_until(ws, of_type("text_delta"))
        await ws.send(json.dumps({"type": "cancel"}))
        frames = await receive_until(ws, of_type("turn_finished"))
        assert frames[-1]["status"] == "cancelled"

        # An approval answered over the socket; answering again is an op_error.
        provider.script(
            Reply(tool_calls=[ToolCall("write_file", {"path": "ws.txt", "content": "via ws"})]), Reply(text="ok")
        )
        await ws.send(json.dumps({"type": "user_message", "text": "write"}))
        request = (await receive_until(ws, of_type("approval_requested")))[-1]
        answer = {"type": "approval_answer", "request_id": request["request_id"], "decision": "allow_once"}
        await ws.send(json.dumps(answer))
        frames = await receive_until(ws, of_type("turn_finished"))
        resolved = [f for f in frames if f["type"] == "approval_resolved"]
        assert len(resolved) == 1 and resolved[0]["decision"] == "allow_once"
        assert frames[-1]["status"] == "completed"
        assert (live_server.workspace / "ws.txt").read_text() == "via ws"
        await ws.send(json.dumps(answer))
        error = (await receive_until(ws, of_type("op_error")))[-1]
        assert "already answered" in error["message"]

        # Settings and clear.
        await ws.send(json.dumps({"type": "set_model", "model": "openai/gpt-4o"}))
        changed = (await receive_until(ws, of_type("settings_changed")))[-1]
        assert changed["model"] == "openai/gpt-4o"
        await ws.send(json.dumps({"type": "set_permission_mode", "mode": "plan"}))
        changed = (await receive_until(ws, of_type("settings_changed")))[-1]
        assert changed["permission_mode"] == "plan" and changed["model"] == "openai/gpt-4o"
        await ws.send(json.dumps({"type": "clear"}))
        await receive_until(ws, of_type("context_cleared"))
        await ws.send(json.dumps({"type": "user_message", "text": "after clear"}))
        await receive_until(ws, of_type("turn_finished"))
        messages = provider.requests[-1].body["messages"]
        assert "over the socket" not in json.dumps(messages) and "after clear" in json.dumps(messages)
        assert provider.requests[-1].body["model"] == "gpt-4o"


async def test_bad_websocket_frames_get_op_error_and_the_socket_stays_usable(live_server: LiveServer) -> None:
    session_id = create(live_server)
    bad: list[str | bytes] = [
        "not json",
        "[1, 2]",
        "42",
        json.dumps({"type": "nope"}),
        json.dumps({"type": "user_message"}),
        json.dumps({"type": "user_message", "text": ""}),
        json.dumps({"type": "set_permission_mode", "mode": "yolo"}),
        json.dumps({"type": "shutdown"}),
        json.dumps({"type": "approval_answer", "request_id": "apr_none", "decision": "deny"}),
        b"\x00\x01binary",
    ]
    async with websocket(live_server, session_id) as ws:
        await receive_until(ws, of_type("agent_state"))
        for frame in bad:
            await ws.send(frame)
            error = (await receive_until(ws, of_type("op_error"), timeout=5))[-1]
            assert isinstance(error["message"], str) and error["message"]
        await ws.send(json.dumps({"type": "heartbeat"}))  # the client's own keep-alive: ignored
        await ws.send(json.dumps({"type": "set_model", "model": "openai/gpt-4o"}))
        frames = await receive_until(ws, of_type("settings_changed"))
        assert [f["type"] for f in frames] == ["settings_changed"], "nothing else came back"
    assert live_server.hub._hosted[session_id].session.log.closed is False, "a shutdown frame is refused"


async def test_heartbeats_and_keep_alives_when_idle(isolated: Path, provider: FakeProvider) -> None:
    with serving(isolated, provider, settings=ServerSettings(port=0, heartbeat=0.2)) as server:
        session_id = create(server)
        async with websocket(server, session_id) as ws:
            frames = await receive_until(ws, of_type("heartbeat"), timeout=3)
            frames += await receive_until(ws, of_type("heartbeat"), timeout=3)
            assert [f["type"] for f in frames] == ["session_started", "agent_state", "heartbeat", "heartbeat"]
        async with async_http(server) as http, http.stream("GET", f"/v1/sessions/{session_id}/events") as response:
            lines: list[str] = []
            async with asyncio.timeout(3):
                async for line in response.aiter_lines():
                    lines.append(line)
                    if lines.count(": keep-alive") == 2:
                        break
        assert lines[0] == "retry: 1000"
        assert ": keep-alive" in lines


async def test_websocket_since_replays_from_there(live_server: LiveServer) -> None:
    session_id = create(live_server)
    with live_server.http() as http:
        for text in ("one", "two"):
            assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": text}).status_code == 200
    log = read_log(live_server, session_id)
    second = next(e for e in log if e.type == "user_message" and e.text == "two")
    async with websocket(live_server, session_id, since=second.seq - 1) as ws:
        frames = await receive_until(ws, of_type("turn_finished"))
    replayed = event_frames(frames)
    assert replayed[0].seq == second.seq and replayed[0].text == "two"
    assert dumps(replayed) == dumps(read_log(live_server, session_id, since=second.seq - 1))
    assert [e.seq for e in replayed] == list(range(second.seq, replayed[-1].seq + 1))


async def test_closing_the_session_ends_streams(live_server: LiveServer) -> None:
    session_id = create(live_server)
    async with async_http(live_server) as http, http.stream("GET", f"/v1/sessions/{session_id}/events") as response:
        async with websocket(live_server, session_id) as ws:
            await receive_until(ws, of_type("agent_state"))
            await wait_for(lambda: live_server.hub._hosted[session_id].connections == 2)
            live_server.call(live_server.hub.unload(session_id))
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            assert ws.close_code == 1000
        async with asyncio.timeout(5):
            text = (await response.aread()).decode()
    frames = frames_of(text)
    assert frames[-1] == {"event": "end", "data": "{}"}
    assert [f["event"] for f in frames[1:-1]] == ["session_started", "agent_state"]


def test_clients_that_vanish_at_once_give_their_slots_back(isolated: Path, provider: FakeProvider) -> None:
    settings = ServerSettings(port=0, heartbeat=0.3, max_connections=100)
    with serving(isolated, provider, settings=settings) as server:
        session_id = create(server)
        request = (
            f"GET /v1/sessions/{session_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{server.server.port}\r\n"
            f"Authorization: Bearer {server.token}\r\n\r\n"
        ).encode()
        for i in range(60):
            with socket.create_connection(("127.0.0.1", server.server.port)) as sock:
                sock.sendall(request)
                if i % 2:  # half of them reset the connection instead of closing it
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                time.sleep(0.002 * (i % 4))
        connections = server.server.app.state.api.connections
        deadline = time.monotonic() + 5
        while connections.open or server.hub._hosted[session_id].connections:
            assert time.monotonic() < deadline, (connections.open, server.hub._hosted[session_id].connections)
            time.sleep(0.02)


async def test_websocket_refusals(isolated: Path, provider: FakeProvider) -> None:
    settings = ServerSettings(port=0, heartbeat=1.0, max_connections=1)
    with serving(isolated, provider, settings=settings) as server:
        session_id = create(server)
        with pytest.raises(ConnectionClosed) as unknown:
            async with websocket(server, "ses_nope") as ws:
                await ws.recv()
        assert unknown.value.rcvd is not None and unknown.value.rcvd.code == 4404
        with pytest.raises(ConnectionClosed) as unicode_id:  # a long non-ASCII id: the close reason is cut to fit
            async with websocket(server, quote("é" * 100)) as ws:
                await ws.recv()
        assert unicode_id.value.rcvd is not None and unicode_id.value.rcvd.code == 4404
        async with websocket(server, session_id) as first:
            await receive_until(first, of_type("agent_state"))
            with pytest.raises(ConnectionClosed) as refused:
                async with websocket(server, session_id) as second:
                    await second.recv()
            assert refused.value.rcvd is not None and refused.value.rcvd.code == 1013
        await wait_for(lambda: server.server.app.state.api.connections.open == 0)
