"""The HTTP API against a live server: sessions, turns, approvals, usage, limits, bad input.

Every test talks to a real uvicorn on 127.0.0.1 (tests/server/conftest.py) whose sessions run the
real litellm client against the fake provider, and asserts on what really happened: the events
in the log, the requests the model received, the files on disk.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from kode.config.schema import ServerSettings
from kode.host.hub import HubLimits
from kode.protocol.codec import parse_event
from kode.protocol.events import Event
from kode.store import SessionNotFound
from kode.testing.fake_provider import FakeProvider, Reply, ToolCall

from .conftest import LiveServer, start_server

# -- helpers -------------------------------------------------------------------------------------


def sse_frames(text: str) -> list[dict[str, str]]:
    """The SSE messages in `text`: each a dict of its fields (`id`, `event`, `data`, ...)."""
    frames = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if fields:
            frames.append(fields)
    return frames


def sse_events(text: str) -> list[Event]:
    return [parse_event(f["data"]) for f in sse_frames(text) if "data" in f and f.get("event") != "end"]


def read_events(http: httpx.Client, session_id: str, since: int | None = None) -> list[Event]:
    """What the log holds now (`follow=false`)."""
    params: dict[str, Any] = {"follow": "false"}
    if since is not None:
        params["since"] = since
    response = http.get(f"/v1/sessions/{session_id}/events", params=params)
    assert response.status_code == 200, response.text
    return sse_events(response.text)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def create(http: httpx.Client, **body: Any) -> str:
    response = http.post("/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def assert_json_error(response: httpx.Response, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    """A refused request: the expected 4xx, and a JSON `{"error": {"code", "message"}}` body."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"], error
    assert "\n" not in error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def slow_reply(chunks: int = 150, delay: float = 0.02, text: str = "") -> Reply:
    """A reply that streams for about chunks × delay seconds."""
    return Reply(text=text or "".join(f"w{i:03d} " for i in range(chunks)), chunk_size=5, delay=delay)


class Follower(threading.Thread):
    """An SSE client following a session's events in a thread, until `until(event)`."""

    def __init__(
        self, server: LiveServer, session_id: str, since: int = 0, until: Callable[[Event], bool] | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.session_id = session_id
        self.since = since
        self.until = until or (lambda event: event.type == "turn_finished")
        self.events: list[Event] = []
        self.status = 0
        self.attached = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with (
                self.server.http() as http,
                http.stream("GET", f"/v1/sessions/{self.session_id}/events", params={"since": self.since}) as response,
            ):
                self.status = response.status_code
                buffer = ""
                for line in response.iter_lines():
                    self.attached.set()  # the server sends `retry:` once the stream is attached
                    if line:
                        buffer += line + "\n"
                        continue
                    events = sse_events(buffer)
                    buffer = ""
                    self.events.extend(events)
                    if any(self.until(event) for event in events):
                        return
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            self.attached.set()

    def result(self, timeout: float = 10.0) -> list[Event]:
        self.join(timeout)
        assert not self.is_alive(), "the follower did not see the end of the turn"
        assert self.error is None, self.error
        assert self.status == 200
        return self.events


@contextmanager
def serving(workspace: Path, provider: FakeProvider, **options: Any) -> Iterator[LiveServer]:
    provider.clear()
    server = start_server(workspace, provider, **options)
    try:
        yield server
    finally:
        server.stop()


def user_texts(messages: list[dict[str, Any]]) -> list[str]:
    texts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if message.get("role") == "user":
            texts.append(content or "")
    return texts


# -- sessions ------------------------------------------------------------------------------------


def test_create_get_and_cwd_inside_the_workspace_only(live_server: LiveServer) -> None:
    workspace = live_server.workspace.resolve()
    (workspace / "sub").mkdir()
    with live_server.http() as http:
        created = http.post("/v1/sessions", json={"title": "first"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["cwd"] == str(workspace)
        assert body["loaded"] is True and body["busy"] is False and body["status"] == "idle"
        assert body["title"] == "first"

        inside = http.post("/v1/sessions", json={"cwd": "sub"})
        assert inside.status_code == 201, inside.text
        assert inside.json()["cwd"] == str(workspace / "sub")

        for outside in ("..", "/", str(workspace.parent), "sub/../..", "missing-dir"):
            error = assert_json_error(http.post("/v1/sessions", json={"cwd": outside}), 400, "bad_request")
            assert "cwd" in error["message"]

        got = http.get(f"/v1/sessions/{body['id']}")
        assert got.status_code == 200
        assert got.json()["id"] == body["id"] and got.json()["cwd"] == str(workspace)
        assert_json_error(http.get("/v1/sessions/ses_doesnotexist"), 404, "not_found")
        # The session really runs in its directory: its header says so.
        header = read_events(http, inside.json()["id"])[0]
        assert header.type == "session_started" and header.cwd == str(workspace / "sub")


def test_list_shows_loaded_and_stored_sessions(live_server: LiveServer) -> None:
    with live_server.http() as http:
        stored = create(http)
        assert http.post(f"/v1/sessions/{stored}/messages", json={"text": "keep me"}).status_code == 200
        live_server.call(live_server.hub.unload(stored))
        loaded = create(http)
        listing = {s["id"]: s for s in http.get("/v1/sessions").json()["sessions"]}
        assert listing[loaded]["loaded"] is True
        assert listing[stored]["loaded"] is False
        assert listing[stored]["last_seq"] > 0
        # A stored session loads again when asked for, with its history.
        again = http.get(f"/v1/sessions/{stored}").json()
        assert again["loaded"] is True
        assert [e.text for e in read_events(http, stored) if e.type == "user_message"] == ["keep me"]


def test_patch_changes_model_and_mode_for_everyone(live_server: LiveServer, provider: FakeProvider) -> None:
    with live_server.http() as http:
        session_id = create(http)
        before = http.get(f"/v1/sessions/{session_id}").json()
        assert before["permission_mode"] == "default"
        patched = http.patch(
            f"/v1/sessions/{session_id}", json={"model": "openai/gpt-4o", "permission_mode": "accept-edits"}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["model"] == "openai/gpt-4o"
        assert patched.json()["permission_mode"] == "accept-edits"
        changes = [e for e in read_events(http, session_id) if e.type == "settings_changed"]
        assert changes and changes[-1].model == "openai/gpt-4o"
        assert changes[-1].permission_mode == "accept-edits"
        # The next turn really uses the new model.
        assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": "hi"}).status_code == 200
        assert provider.requests[-1].body["model"] == "gpt-4o"
        assert_json_error(http.patch(f"/v1/sessions/{session_id}", json={"permission_mode": "yolo"}), 422)
        assert_json_error(http.patch("/v1/sessions/ses_nope", json={"model": "x"}), 404)


def test_memory_ops_pass_through_the_generic_op_route(live_server: LiveServer) -> None:
    """/memory's edits from a remote TUI are plain ops: saved, edited, forgotten, and an unknown
    id is an error event for every client (the request itself was accepted)."""
    with live_server.http() as http:
        session_id = create(http)
        ops_url = f"/v1/sessions/{session_id}/ops"

        def memory_events() -> list[Event]:
            return [e for e in read_events(http, session_id) if e.type.startswith("memory") or e.type == "error"]

        assert http.post(ops_url, json={"type": "remember", "text": "Deploy on Thursdays."}).status_code == 202
        saved = wait_until(lambda: [e for e in memory_events() if e.type == "memory_saved"], what="memory_saved")[0]
        memory_id = saved.memory.id
        edit = {"type": "update_memory", "id": memory_id, "text": "Deploy on Fridays."}
        assert http.post(ops_url, json=edit).status_code == 202
        assert http.post(ops_url, json={"type": "forget_memory", "id": memory_id}).status_code == 202
        assert http.post(ops_url, json={"type": "forget_memory", "id": memory_id}).status_code == 202
        def until_the_error() -> list[Event] | None:
            found = memory_events()
            return found if found and found[-1].type == "error" else None

        events = wait_until(until_the_error, what="the error")
        assert [e.type for e in events] == ["memory_saved", "memory_updated", "memory_forgotten", "error"]
        assert events[1].memory.text == "Deploy on Fridays." and events[2].id == memory_id
        assert events[3].error.kind == "not_found" and f"no memory with id {memory_id}" in events[3].error.message
        assert_json_error(http.post(ops_url, json={"type": "update_memory", "id": memory_id, "text": ""}), 422)


def test_delete_removes_the_session_and_its_store_record(live_server: LiveServer) -> None:
    with live_server.http() as http:
        session_id = create(http)
        assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": "bye"}).status_code == 200
        deleted = http.delete(f"/v1/sessions/{session_id}")
        assert deleted.status_code == 204 and deleted.content == b""
        assert_json_error(http.get(f"/v1/sessions/{session_id}"), 404, "not_found")
        assert_json_error(http.delete(f"/v1/sessions/{session_id}"), 404, "not_found")
        assert session_id not in live_server.hub.loaded_ids
        assert session_id not in [s["id"] for s in http.get("/v1/sessions").json()["sessions"]]
    with pytest.raises(SessionNotFound):
        live_server.call(live_server.hub.store.get_session(session_id))


def test_delete_mid_turn_cancels_it_and_ends_the_streams(live_server: LiveServer, provider: FakeProvider) -> None:
    with live_server.http() as http, ThreadPoolExecutor(1) as pool:
        session_id = create(http)
        follower = Follower(live_server, session_id, until=lambda event: False)
        follower.start()
        assert follower.attached.wait(5)
        provider.script(slow_reply(chunks=300))
        turn = pool.submit(http.post, f"/v1/sessions/{session_id}/messages", json={"text": "doomed"})
        wait_until(lambda: http.get(f"/v1/sessions/{session_id}").json()["busy"], what="the turn")
        assert http.delete(f"/v1/sessions/{session_id}").status_code == 204
        finished = turn.result(10)
        assert finished.status_code == 200 and finished.json()["status"] == "cancelled"
        assert_json_error(http.get(f"/v1/sessions/{session_id}"), 404)
    events = follower.result()  # the stream ended: the server sent `event: end`
    assert events[-1].type == "turn_finished" and events[-1].status == "cancelled"


# -- turns ---------------------------------------------------------------------------------------


def test_message_result_and_stream(live_server: LiveServer, provider: FakeProvider) -> None:
    with live_server.http() as http:
        session_id = create(http)
        result = http.post(f"/v1/sessions/{session_id}/messages", json={"text": "plain answer"})
        assert result.status_code == 200
        body = result.json()
        assert body["session_id"] == session_id and body["status"] == "completed"
        assert body["result"] == "plain answer" and body["error"] is None
        assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0

        provider.script(Reply(text="streamed back to you in pieces", chunk_size=3))
        with http.stream("POST", f"/v1/sessions/{session_id}/messages", json={"text": "x", "stream": True}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            text = r.read().decode()
    frames = sse_frames(text)
    assert frames[0] == {"retry": "1000"}
    events = [parse_event(f["data"]) for f in frames[1:]]
    for frame, event in zip(frames[1:], events, strict=True):
        assert frame["id"] == str(event.seq) and frame["event"] == event.type
    assert events[0].type == "user_message" and events[0].text == "x"
    assert events[-1].type == "turn_finished" and events[-1].status == "completed"
    assert events[-1].result == "streamed back to you in pieces"
    deltas = "".join(e.text for e in events if e.type == "text_delta")
    assert deltas == "streamed back to you in pieces"
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a turn's stream is every event, in order"


def test_a_second_turn_while_one_runs_is_409(live_server: LiveServer, provider: FakeProvider) -> None:
    with live_server.http() as http, ThreadPoolExecutor(1) as pool:
        session_id = create(http)
        provider.script(slow_reply(chunks=300))
        running = pool.submit(http.post, f"/v1/sessions/{session_id}/messages", json={"text": "long one"})
        wait_until(lambda: http.get(f"/v1/sessions/{session_id}").json()["busy"], what="the turn to start")
        wait_until(lambda: len(provider.requests) >= 1, what="the model request")  # the reply is taken

        assert_json_error(http.post(f"/v1/sessions/{session_id}/messages", json={"text": "again"}), 409, "conflict")
        assert_json_error(http.post(f"/v1/sessions/{session_id}/clear"), 409, "conflict")
        op = http.post(f"/v1/sessions/{session_id}/ops", json={"type": "user_message", "text": "again"})
        assert_json_error(op, 409, "conflict")
        assert http.post(f"/v1/sessions/{session_id}/cancel").status_code == 202
        finished = running.result(10)
        assert finished.status_code == 200 and finished.json()["status"] == "cancelled"
        events = read_events(http, session_id)
        assert [e.text for e in events if e.type == "user_message"] == ["long one"], "no refused message ran"
        assert any(e.type == "error" and "busy" in e.error.message for e in events)
        # The session is usable again.
        after = http.post(f"/v1/sessions/{session_id}/messages", json={"text": "next"})
        assert after.status_code == 200 and after.json()["result"] == "next"


def test_clear_hides_earlier_messages_from_the_model(live_server: LiveServer, provider: FakeProvider) -> None:
    with live_server.http() as http:
        session_id = create(http)
        for text in ("alpha secret", "beta"):
            assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": text}).status_code == 200
        assert user_texts(provider.requests[-1].body["messages"]) == ["alpha secret", "beta"]
        cleared = http.post(f"/v1/sessions/{session_id}/clear")
        assert cleared.status_code == 200, cleared.text
        assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": "gamma"}).status_code == 200
        messages = provider.requests[-1].body["messages"]
        assert user_texts(messages) == ["gamma"]
        assert "alpha secret" not in json.dumps(messages)
        events = read_events(http, session_id)
        types = [e.type for e in events]
        assert types.count("context_cleared") == 1
        # The log keeps everything: clients can still show the earlier conversation.
        assert [e.text for e in events if e.type == "user_message"] == ["alpha secret", "beta", "gamma"]


def test_approval_first_answer_wins_and_everyone_sees_it(live_server: LiveServer, provider: FakeProvider) -> None:
    with live_server.http() as http, ThreadPoolExecutor(3) as pool:
        session_id = create(http)
        followers = [Follower(live_server, session_id) for _ in range(2)]
        for follower in followers:
            follower.start()
            assert follower.attached.wait(5)
        provider.script(
            Reply(tool_calls=[ToolCall("write_file", {"path": "a.txt", "content": "x"})]), Reply(text="written")
        )
        turn = pool.submit(http.post, f"/v1/sessions/{session_id}/messages", json={"text": "write it"})
        pending = wait_until(
            lambda: http.get(f"/v1/sessions/{session_id}/approvals").json()["approvals"], what="an approval"
        )
        assert len(pending) == 1 and pending[0]["tool_name"] == "write_file"
        assert "a.txt" in pending[0]["summary"] + pending[0]["details"]
        assert not (live_server.workspace / "a.txt").exists(), "nothing is written before the answer"
        request_id = pending[0]["request_id"]

        barrier = threading.Barrier(2)

        def answer(decision: str) -> int:
            with live_server.http() as own:
                barrier.wait(5)
                url = f"/v1/sessions/{session_id}/approvals/{request_id}"
                return own.post(url, json={"decision": decision}).status_code

        statuses = sorted(f.result(10) for f in [pool.submit(answer, "allow_once"), pool.submit(answer, "allow_once")])
        assert statuses == [200, 409]
        finished = turn.result(10)
        assert finished.json()["status"] == "completed" and finished.json()["result"] == "written"
        late = http.post(f"/v1/sessions/{session_id}/approvals/{request_id}", json={"decision": "deny"})
        assert_json_error(late, 409, "conflict")
        assert http.get(f"/v1/sessions/{session_id}/approvals").json()["approvals"] == []
    assert (live_server.workspace / "a.txt").read_text() == "x"
    seen = [follower.result() for follower in followers]
    for events in seen:
        resolved = [e for e in events if e.type == "approval_resolved"]
        assert len(resolved) == 1 and resolved[0].request_id == request_id
        assert resolved[0].decision == "allow_once"
        assert [e for e in events if e.type == "tool_call_finished"][0].status == "ok"
    assert [e.seq for e in seen[0]] == [e.seq for e in seen[1]]


def test_usage_sums_the_completed_messages(live_server: LiveServer, provider: FakeProvider) -> None:
    with live_server.http() as http:
        session_id = create(http)
        provider.script(Reply(text="one", usage=(100, 20)), Reply(text="two", usage=(50, 7)))
        for text in ("first", "second"):
            assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": text}).status_code == 200
        usage = http.get(f"/v1/sessions/{session_id}/usage")
        assert usage.status_code == 200
        report = usage.json()
        completed = [e for e in read_events(http, session_id) if e.type == "message_completed"]
    assert report["session_id"] == session_id and report["turns"] == 2
    assert report["total"]["input_tokens"] == 150 == sum(e.usage.input_tokens for e in completed)
    assert report["total"]["output_tokens"] == 27 == sum(e.usage.output_tokens for e in completed)
    cost = sum(e.usage.cost_usd for e in completed)
    assert cost > 0 and report["total"]["cost_usd"] == pytest.approx(cost)
    assert report["total"]["cost_usd"] == pytest.approx((150 * 0.15 + 27 * 0.60) / 1e6)
    assert list(report["by_model"]) == [completed[0].model]
    assert report["by_agent"]["root"]["input_tokens"] == 150


# -- limits --------------------------------------------------------------------------------------


def test_body_and_connection_limits(isolated: Path, provider: FakeProvider) -> None:
    settings = ServerSettings(port=0, heartbeat=1.0, max_body_bytes=2048, max_connections=2)
    with serving(isolated, provider, settings=settings) as server, server.http() as http:
        session_id = create(http)
        too_big = http.post(f"/v1/sessions/{session_id}/messages", json={"text": "x" * 5000})
        assert_json_error(too_big, 413, "too_large")

        def chunked() -> Iterator[bytes]:
            yield b'{"text": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        unsized = http.post(
            f"/v1/sessions/{session_id}/messages", content=chunked(), headers={"content-type": "application/json"}
        )
        assert_json_error(unsized, 413, "too_large")
        assert read_events(http, session_id)[-1].type != "turn_finished", "no turn ran"

        connections = server.server.app.state.api.connections
        with ExitStack() as streams:
            readers = []  # kept referenced: a collected line iterator closes its connection
            for _ in range(2):
                response = streams.enter_context(http.stream("GET", f"/v1/sessions/{session_id}/events"))
                assert response.status_code == 200
                readers.append(response.iter_lines())
                assert next(readers[-1]) == "retry: 1000"
            assert connections.open == 2
            refused = http.get(f"/v1/sessions/{session_id}/events")
            assert_json_error(refused, 429, "limit")
            refused_stream = http.post(f"/v1/sessions/{session_id}/messages", json={"text": "s", "stream": True})
            assert_json_error(refused_stream, 429, "limit")
        wait_until(lambda: connections.open == 0, what="the closed streams to give back their slots")
        # Slots come back: a new stream is accepted, and a plain request never needed one.
        assert http.get(f"/v1/sessions/{session_id}/events", params={"follow": "false"}).status_code == 200
        assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": "ok"}).json()["result"] == "ok"
        wait_until(lambda: connections.open == 0, what="every slot back")


def test_max_sessions_unloads_the_oldest_idle_one(isolated: Path, provider: FakeProvider) -> None:
    limits = HubLimits(max_sessions=2, idle_unload=None)
    with serving(isolated, provider, limits=limits) as server, server.http() as http, ThreadPoolExecutor(1) as pool:
        busy, attached = create(http), create(http)
        provider.script(slow_reply(chunks=300))
        turn = pool.submit(http.post, f"/v1/sessions/{busy}/messages", json={"text": "busy"})
        wait_until(lambda: http.get(f"/v1/sessions/{busy}").json()["busy"], what="the turn")
        with http.stream("GET", f"/v1/sessions/{attached}/events") as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 1000"
            assert_json_error(http.post("/v1/sessions", json={}), 429, "limit")
            assert http.post(f"/v1/sessions/{busy}/cancel").status_code == 202
            assert turn.result(10).json()["status"] == "cancelled"
            # Now `busy` is idle: it makes room; the attached one stays.
            third = create(http)
            assert server.hub.loaded_ids == [attached, third]
            listing = {s["id"]: s for s in http.get("/v1/sessions").json()["sessions"]}
            assert listing[busy]["loaded"] is False and listing[attached]["loaded"] is True
        hosted = server.hub._hosted[attached]
        wait_until(lambda: hosted.connections == 0, what="the stream to detach")
        # Both loaded ones are idle; `third` has been idle longest (`attached` was in use until now).
        # The unloaded session is still stored and loads again, making room the same way.
        again = http.get(f"/v1/sessions/{busy}")
        assert again.status_code == 200 and again.json()["loaded"] is True
        assert server.hub.loaded_ids == [attached, busy]
        assert {s["id"]: s["loaded"] for s in http.get("/v1/sessions").json()["sessions"]}[third] is False
        assert [e.text for e in read_events(http, busy) if e.type == "user_message"] == ["busy"]


def test_a_loaded_session_named_by_a_prefix_needs_no_room(isolated: Path, provider: FakeProvider) -> None:
    with (
        serving(isolated, provider, limits=HubLimits(max_sessions=2, idle_unload=None)) as server,
        server.http() as http,
    ):
        first, second = create(http), create(http)
        for session_id in (first, second):
            got = http.get(f"/v1/sessions/{session_id[:-3]}")
            assert got.status_code == 200 and got.json()["id"] == session_id
            assert server.hub.loaded_ids == [first, second], "nothing was unloaded to make room"


def test_idle_sessions_unload_and_resume_with_their_history(isolated: Path, provider: FakeProvider) -> None:
    with serving(isolated, provider, limits=HubLimits(idle_unload=0.3)) as server, server.http() as http:
        session_id = create(http)
        assert http.post(f"/v1/sessions/{session_id}/messages", json={"text": "remember alpha"}).status_code == 200
        wait_until(lambda: session_id not in server.hub.loaded_ids, what="the idle session to unload")
        listing = {s["id"]: s for s in http.get("/v1/sessions").json()["sessions"]}
        assert listing[session_id]["loaded"] is False
        resumed = http.post(f"/v1/sessions/{session_id}/messages", json={"text": "what was it?"})
        assert resumed.status_code == 200 and resumed.json()["result"] == "what was it?"
        messages = provider.requests[-1].body["messages"]
        assert user_texts(messages) == ["remember alpha", "what was it?"]
        assert any(m["role"] == "assistant" and m.get("content") == "remember alpha" for m in messages)
        events = read_events(http, session_id)
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs)), "the resumed log goes on from where it was"
        assert [e.type for e in events].count("turn_finished") == 2

        # Not while someone is attached, nor while a turn runs.
        with http.stream("GET", f"/v1/sessions/{session_id}/events") as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 1000"
            time.sleep(0.8)
            assert session_id in server.hub.loaded_ids
        wait_until(lambda: session_id not in server.hub.loaded_ids, what="the detached session to unload")
        provider.script(slow_reply(chunks=40, delay=0.025))
        submitted = http.post(f"/v1/sessions/{session_id}/ops", json={"type": "user_message", "text": "long"})
        assert submitted.status_code == 202
        hosted = server.hub._hosted[session_id]
        while hosted.busy:
            assert session_id in server.hub.loaded_ids, "unloaded mid-turn"
            time.sleep(0.02)
        finished = [e for e in read_events(http, session_id) if e.type == "turn_finished"]
        assert finished[-1].status == "completed"


# -- bad input -----------------------------------------------------------------------------------


def test_bad_requests_are_4xx_json_never_5xx(live_server: LiveServer) -> None:
    with live_server.http() as http:
        sid = create(http)
        json_headers = {"content-type": "application/json"}
        cases: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/v1/sessions", {"content": b"{not json", "headers": json_headers}),
            ("POST", "/v1/sessions", {"content": b"[]", "headers": json_headers}),
            ("POST", "/v1/sessions", {"content": b'"hello"', "headers": json_headers}),
            ("POST", "/v1/sessions", {"content": b"\xff\xfe\x00", "headers": json_headers}),
            ("POST", "/v1/sessions", {"json": {"cwd": 5}}),
            ("POST", "/v1/sessions", {"json": {"bogus": 1}}),
            ("POST", "/v1/sessions", {"json": {"permission_mode": "yolo"}}),
            ("POST", "/v1/sessions", {"json": {"cwd": "a\x00b"}}),
            ("POST", "/v1/sessions", {"json": {"cwd": "n" * 300}}),
            ("POST", "/v1/sessions", {"json": {"cwd": "x" * 5000}}),
            ("POST", "/v1/sessions", {"content": b"cwd=x", "headers": {"content-type": "text/plain"}}),
            ("POST", f"/v1/sessions/{sid}/messages", {"json": {}}),
            ("POST", f"/v1/sessions/{sid}/messages", {"json": {"text": ""}}),
            ("POST", f"/v1/sessions/{sid}/messages", {"json": {"text": 5}}),
            ("POST", f"/v1/sessions/{sid}/messages", {"json": {"text": "x", "stream": "maybe"}}),
            ("POST", f"/v1/sessions/{sid}/messages", {"json": {"text": "x", "extra": True}}),
            ("POST", f"/v1/sessions/{sid}/messages", {"content": b"", "headers": json_headers}),
            ("POST", f"/v1/sessions/{sid}/ops", {"json": {"type": "nope"}}),
            ("POST", f"/v1/sessions/{sid}/ops", {"json": {"type": "user_message"}}),
            ("POST", f"/v1/sessions/{sid}/ops", {"json": {"type": "shutdown"}}),
            ("POST", f"/v1/sessions/{sid}/ops", {"json": {"type": "set_model", "model": ["x"]}}),
            (
                "POST",
                f"/v1/sessions/{sid}/ops",
                {"json": {"type": "approval_answer", "request_id": "r", "decision": "allow_once"}},
            ),
            ("POST", f"/v1/sessions/{sid}/ops", {"json": [1, 2]}),
            ("POST", f"/v1/sessions/{sid}/approvals/apr_x", {"json": {"decision": "maybe"}}),
            ("POST", f"/v1/sessions/{sid}/approvals/apr_x", {"json": {"decision": "allow_once"}}),
            ("POST", f"/v1/sessions/{sid}/approvals/apr_x", {"json": {"decision": "deny", "reason": 3}}),
            ("PATCH", f"/v1/sessions/{sid}", {"json": {"model": ""}}),
            ("PATCH", f"/v1/sessions/{sid}", {"json": {"cwd": "/"}}),
            ("PATCH", f"/v1/sessions/{sid}", {"content": b"null", "headers": json_headers}),
            ("GET", f"/v1/sessions/{sid}/events", {"params": {"since": -1}}),
            ("GET", f"/v1/sessions/{sid}/events", {"params": {"since": "abc"}}),
            ("GET", f"/v1/sessions/{sid}/events", {"params": {"follow": "perhaps"}}),
            ("GET", f"/v1/sessions/{sid}/events", {"headers": {"Last-Event-ID": "abc"}}),
            ("GET", f"/v1/sessions/{sid}/events", {"headers": {"Last-Event-ID": "-5"}}),
            ("GET", "/v1/sessions/bad%20id", {}),
            ("GET", "/v1/sessions/" + "x" * 150, {}),
            ("DELETE", "/v1/sessions", {}),
            ("PUT", f"/v1/sessions/{sid}", {"json": {}}),
            ("GET", "/v1/nothing-here", {}),
            ("POST", f"/v1/sessions/{sid}/usage", {}),
        ]
        problems = []
        for method, path, kwargs in cases:
            response = http.request(method, path, **kwargs)
            try:
                assert_json_error(response)
            except (AssertionError, KeyError, ValueError) as exc:
                problems.append(f"{method} {path} {kwargs}: {response.status_code} {response.text[:200]} ({exc})")
        assert not problems, "\n".join(problems)
        # None of it changed the session.
        events = read_events(http, sid)
        assert [e.type for e in events] == ["session_started", "agent_state"]
