"""The remote clients against a live server: RemoteServer/RemoteClient (async), SyncRemoteServer.

A frontend cannot tell a served session from a local one: RemoteClient is a SessionClient, its
events are the log's events, and what goes wrong comes back as one RemoteError line with the
HTTP status, never a traceback from httpx.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from kode.client.base import SessionClient
from kode.client.http_common import RemoteError, SessionView
from kode.client.remote import RemoteClient, RemoteServer
from kode.client.remote_sync import SyncRemoteServer
from kode.protocol.codec import dump_event
from kode.protocol.events import Event
from kode.protocol.ops import AnswerApproval, Cancel, SetModel, SubmitMessage
from kode.testing.fake_provider import FakeProvider, Reply, ToolCall

from .conftest import LiveServer


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_turn_end(event: Event) -> bool:
    return event.type == "turn_finished" and event.agent_id == "root"


async def until_turn_end(client: SessionClient, since: int = 0) -> list[Event]:
    events: list[Event] = []
    async for event in client.events(since):
        events.append(event)
        if is_turn_end(event):
            break
    return events


def slow_reply() -> Reply:
    return Reply(text="".join(f"s{i} " for i in range(400)), chunk_size=3, delay=0.02)


def one_line(error: RemoteError) -> str:
    message = str(error)
    assert message and "\n" not in message and "Traceback" not in message, message
    return message


# -- async ---------------------------------------------------------------------------------------


async def test_remote_server_sessions_messages_events_usage(live_server: LiveServer) -> None:
    async with RemoteServer(live_server.url, live_server.token) as server:
        assert await server.health() is True
        session = await server.create_session(title="remote")
        assert isinstance(session, SessionView)
        assert session.loaded and session.title == "remote"
        assert session.cwd == str(live_server.workspace.resolve())

        result = await server.send_message(session.id, "hello remote")
        assert result["status"] == "completed" and result["result"] == "hello remote"

        events = [e async for e in server.events(session.id, follow=False)]
        assert events[0].type == "session_started" and is_turn_end(events[-1])
        assert [e.seq for e in events] == sorted({e.seq for e in events})
        user = next(e for e in events if e.type == "user_message")
        later = [e async for e in server.events(session.id, since=user.seq, follow=False)]
        # From a seq the log replays exactly, deltas included; from the start they are folded.
        assert [dump_event(e) for e in later if e.type != "text_delta"] == [
            dump_event(e) for e in events if e.seq > user.seq
        ]
        assert "".join(e.text for e in later if e.type == "text_delta") == "hello remote"
        assert [e.seq for e in later] == list(range(user.seq + 1, events[-1].seq + 1))

        usage = await server.usage(session.id)
        completed = [e for e in events if e.type == "message_completed"]
        assert usage["turns"] == 1
        assert usage["total"]["input_tokens"] == sum(e.usage.input_tokens for e in completed) > 0
        assert usage["total"]["output_tokens"] == sum(e.usage.output_tokens for e in completed) > 0

        got = await server.get_session(session.id)
        assert got.id == session.id and got.last_seq == events[-1].seq and not got.busy
        assert session.id in [s.id for s in await server.list_sessions()]
        await server.delete_session(session.id)
        with pytest.raises(RemoteError) as gone:
            await server.get_session(session.id)
        assert gone.value.status == 404


async def test_remote_errors_are_one_line_with_a_status(live_server: LiveServer) -> None:
    async with RemoteServer(live_server.url, live_server.token) as server:
        with pytest.raises(RemoteError) as missing:
            await server.get_session("ses_nope")
        assert missing.value.status == 404 and missing.value.code == "not_found"
        assert "ses_nope" in one_line(missing.value)
        with pytest.raises(RemoteError) as missing_stream:
            async with asyncio.timeout(5):
                async for _ in server.events("ses_nope"):
                    pass
        assert missing_stream.value.status == 404
        with pytest.raises(RemoteError) as bad_op:
            await server.send_message((await server.create_session()).id, "")
        assert bad_op.value.status == 422 and one_line(bad_op.value)

    async with RemoteServer(live_server.url, "not-the-token") as wrong:
        assert await wrong.health() is True, "health needs no token"
        with pytest.raises(RemoteError) as denied:
            await wrong.list_sessions()
        assert denied.value.status == 401 and denied.value.code == "unauthorized"
        message = one_line(denied.value)
        assert "server-token" in message and "KODE_SERVER_TOKEN" in message
        started = time.monotonic()
        with pytest.raises(RemoteError) as denied_stream:
            async for _ in wrong.events("ses_anything"):
                pass
        assert denied_stream.value.status == 401
        assert time.monotonic() - started < 2, "a refusal is not retried like a dropped connection"


async def test_an_unreachable_server_is_reported_after_reconnect_for() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with RemoteServer(url, "token", reconnect_for=0.5) as server:
        with pytest.raises(RemoteError) as direct:
            await server.list_sessions()
        assert direct.value.code == "unreachable" and direct.value.status == 0
        assert url in one_line(direct.value) and "kode serve" in str(direct.value)
        started = time.monotonic()
        with pytest.raises(RemoteError) as streaming:
            async for _ in server.events("ses_x"):
                pass
        waited = time.monotonic() - started
    assert streaming.value.code == "unreachable" and url in one_line(streaming.value)
    assert 0.5 <= waited < 4, waited


async def test_remote_client_is_a_session_client(live_server: LiveServer, provider: FakeProvider) -> None:
    async with RemoteServer(live_server.url, live_server.token) as server:
        session = await server.create_session()
        client = server.client(session.id)
        assert isinstance(client, RemoteClient) and isinstance(client, SessionClient)
        assert client.session_id == session.id
        watcher = server.client(session.id)
        watched = asyncio.create_task(until_turn_end(watcher))

        provider.script(slow_reply())
        await client.submit(SubmitMessage(text="long"))
        await asyncio.wait_for(_busy(server, session.id), 5)
        await client.submit(SubmitMessage(text="while busy"))  # refused (409): no exception
        await client.submit(Cancel())
        events = await asyncio.wait_for(watched, 10)
        assert events[-1].status == "cancelled"
        assert [e.text for e in events if e.type == "user_message"] == ["long"]
        assert any(e.type == "error" and "busy" in e.error.message for e in events), "everyone is told"

        await client.submit(SetModel(model="openai/gpt-4o"))
        assert (await server.get_session(session.id)).model == "openai/gpt-4o"
        await client.close()  # detaches only: the session goes on
        assert (await server.get_session(session.id)).loaded is True
        with pytest.raises(RemoteError) as unknown:
            await server.client("ses_nope").submit(Cancel())
        assert unknown.value.status == 404


async def _busy(server: RemoteServer, session_id: str) -> None:
    while not (await server.get_session(session_id)).busy:
        await asyncio.sleep(0.02)


async def test_two_remote_clients_one_prompts_one_watches(live_server: LiveServer, provider: FakeProvider) -> None:
    async with (
        RemoteServer(live_server.url, live_server.token) as one,
        RemoteServer(live_server.url, live_server.token) as other,
    ):
        session = await one.create_session()
        prompter, watcher = one.client(session.id), other.client(session.id)
        watched = asyncio.create_task(until_turn_end(watcher))
        own = asyncio.create_task(until_turn_end(prompter))
        await asyncio.sleep(0.1)
        provider.script(
            Reply(text="let me write", tool_calls=[ToolCall("write_file", {"path": "r.txt", "content": "remote"})]),
            Reply(text="done", chunk_size=2, delay=0.01),
        )
        await prompter.submit(SubmitMessage(text="write r.txt"))
        pending = await asyncio.wait_for(_pending_approval(live_server, session.id), 5)
        # Both answer; the first wins and the other's 409 is not an error for a SessionClient.
        await asyncio.gather(
            prompter.submit(AnswerApproval(request_id=pending, decision="allow_once")),
            watcher.submit(AnswerApproval(request_id=pending, decision="deny")),
        )
        mine, theirs = await asyncio.wait_for(asyncio.gather(own, watched), 10)
    assert [dump_event(e) for e in mine] == [dump_event(e) for e in theirs]
    assert [e.seq for e in mine] == list(range(1, mine[-1].seq + 1))
    resolved = [e for e in mine if e.type == "approval_resolved"]
    assert len(resolved) == 1
    assert mine[-1].status == "completed" and mine[-1].result == "done"
    written = (live_server.workspace / "r.txt").exists()
    assert written == (resolved[0].decision == "allow_once")


async def _pending_approval(server: LiveServer, session_id: str) -> str:
    hosted = server.hub._hosted[session_id]
    while not hosted.pending_approvals():
        await asyncio.sleep(0.02)
    return hosted.pending_approvals()[0].request_id


# -- sync ----------------------------------------------------------------------------------------


def test_sync_remote_server(live_server: LiveServer, provider: FakeProvider) -> None:
    with SyncRemoteServer(live_server.url, live_server.token) as server:
        assert server.health() is True
        session = server.create_session(title="sync")
        assert session.loaded and session.title == "sync"
        followed: list[Event] = []

        def follow() -> None:
            for event in server.events(session.id):
                followed.append(event)
                if is_turn_end(event):
                    return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        provider.script(Reply(text="sync reply", usage=(40, 4)))
        result = server.send_message(session.id, "hello sync")
        assert result["status"] == "completed" and result["result"] == "sync reply"
        follower.join(10)
        assert not follower.is_alive()
        logged = list(server.events(session.id, follow=False))
        assert [dump_event(e) for e in logged if e.type != "text_delta"] == [
            dump_event(e) for e in followed if e.type != "text_delta"
        ]
        assert "".join(e.text for e in followed if e.type == "text_delta") == "sync reply"
        usage = server.usage(session.id)
        assert usage["total"]["input_tokens"] == 40 and usage["total"]["output_tokens"] == 4
        server.submit(session.id, SetModel(model="openai/gpt-4o"))
        assert server.get_session(session.id).model == "openai/gpt-4o"
        assert session.id in [s.id for s in server.list_sessions()]
        server.delete_session(session.id)
        with pytest.raises(RemoteError) as gone:
            server.get_session(session.id)
        assert gone.value.status == 404 and one_line(gone.value)

    with SyncRemoteServer(live_server.url, "wrong") as wrong, pytest.raises(RemoteError) as denied:
        wrong.list_sessions()
    assert denied.value.status == 401 and "server-token" in one_line(denied.value)

    url = f"http://127.0.0.1:{closed_port()}"
    with SyncRemoteServer(url, "token", reconnect_for=0.3) as gone_server:
        with pytest.raises(RemoteError) as unreachable:
            gone_server.health()
        assert unreachable.value.code == "unreachable"
        started = time.monotonic()
        with pytest.raises(RemoteError) as unreachable_stream:
            list(gone_server.events("ses_x"))
        assert unreachable_stream.value.code == "unreachable"
        assert 0.3 <= time.monotonic() - started < 4
